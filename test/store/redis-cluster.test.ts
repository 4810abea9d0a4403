// Redis Cluster: three primaries and three replicas started and joined by the test; two locators share pins and
// marks through the primary of the store's slot. That primary is killed; its replica is promoted; nothing is lost.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type SipLocator } from '../../src/core/locator';
import type { StateChange, Target } from '../../src/core/types';
import { withAddressing } from '../../src/core/target';
import { linkStore, type StoreLink } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { storeKeys } from '../../src/store/keys';
import { storeFromConfig } from '../../src/nodes/resolver-config';
import { skipUnlessRedis } from '../servers/redis';
import { startCluster, type RunningCluster } from '../servers/redis-cluster';
import { closeAll } from './close-all';
import { until } from '../support/wait';

const T = (n: number): Target =>
  withAddressing({
    transport: 'udp',
    address: `127.0.5.${n}`,
    port: 5060,
    family: 4,
    host: `h${n}.test`,
    source: 'srv',
    ttl: 60,
  });
const PREFIX = 'clu';

describe('Redis Cluster topology (real redis-server cluster)', { skip: skipUnlessRedis() }, () => {
  let cluster: RunningCluster;
  const open: Array<{ locator: SipLocator; link: StoreLink }> = [];
  before(async () => {
    cluster = await startCluster();
  });
  after(async () => {
    await closeAll(open);
    await cluster?.stop();
  });

  function instance(): { locator: SipLocator; link: StoreLink } {
    const locator = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(
      locator,
      createRedisStore({
        url: 'redis://cluster',
        prefix: PREFIX,
        topology: 'cluster',
        nodes: cluster.seeds.slice(0, 2),
      }),
    );
    open.push({ locator, link });
    return { locator, link };
  }

  test('options are checked', () => {
    assert.throws(() => createRedisStore({ url: 'redis://x', prefix: 'p', topology: 'cluster', nodes: [] }), {
      code: 'EINVALIDOPTION',
    });
    assert.throws(
      () => createRedisStore({ url: 'redis://x', prefix: 'p', topology: 'cluster', nodes: ['127.0.0.1'] }),
      { code: 'EINVALIDOPTION' },
    );
    assert.throws(
      () => createRedisStore({ url: 'redis://x/1', prefix: 'p', topology: 'cluster', nodes: ['127.0.0.1:7000'] }),
      { code: 'EINVALIDOPTION' },
    );
    assert.throws(
      () => createRedisStore({ url: 'redis://x', prefix: 'a}b', topology: 'cluster', nodes: ['127.0.0.1:7000'] }),
      { code: 'EINVALIDOPTION' },
    );
    const fromNode = storeFromConfig(
      {
        id: 'n1',
        store: 'redis',
        redisUrl: 'redis://x',
        redisTopology: 'cluster',
        redisNodes: '127.0.0.1:7000, [::1]:7001',
      },
      'n1',
      'pw',
      undefined,
    );
    assert.deepEqual([fromNode.redisTopology, fromNode.redisNodes], ['cluster', ['127.0.0.1:7000', '[::1]:7001']]);
  });

  test('keys share one slot only in Cluster mode: single and Sentinel keep the plain prefix', () => {
    assert.deepEqual(storeKeys('sip-locate:n1', false), {
      base: 'sip-locate:n1',
      markPrefix: 'sip-locate:n1:mark:',
      pinPrefix: 'sip-locate:n1:pin:',
      adminPrefix: 'sip-locate:n1:admin:',
      planPrefix: 'sip-locate:n1:plan:',
      channel: 'sip-locate:n1:changes',
    });
    assert.deepEqual(storeKeys('sip-locate:n1', true), {
      base: '{sip-locate:n1}',
      markPrefix: '{sip-locate:n1}:mark:',
      pinPrefix: '{sip-locate:n1}:pin:',
      adminPrefix: '{sip-locate:n1}:admin:',
      planPrefix: '{sip-locate:n1}:plan:',
      channel: '{sip-locate:n1}:changes',
    });
  });

  test("a pin meeting a standing pin is checked against that pin's mark key, declared on a second script call", async () => {
    const store = createRedisStore({
      url: 'redis://cluster',
      prefix: 'decl',
      topology: 'cluster',
      nodes: cluster.seeds.slice(0, 1),
    });
    try {
      await new Promise<void>((resolve, reject) =>
        store.start({ up: resolve, down: reject, remote: () => undefined, invalid: () => undefined }),
      );
      const now = Date.now();
      const pin = (n: number): StateChange => ({
        op: 'pin',
        pin: { destination: 'sip:decl.test;udp', target: T(n), pinnedAt: now, expiresAt: now + 60_000 },
      });
      assert.deepEqual(await store.write([pin(1)]), [{}]);
      // T2 does not replace T1 while T1 is unmarked: the standing pin is answered.
      assert.equal((await store.write([pin(2)]))[0]?.standing?.target.address, '127.0.5.1');
      await store.write([
        {
          op: 'mark',
          mark: { transport: 'udp', address: '127.0.5.1', port: 5060, mark: 'black', expiresAt: now + 60_000 },
        },
      ]);
      // T1 is marked failed now, so T2 replaces the stale pin (the script saw T1's mark key only because it was declared).
      assert.deepEqual(await store.write([pin(2)]), [{}]);
      const owner = cluster.ownerOf('{decl}').primary;
      assert.match(cluster.cli(owner, 'GET', '{decl}:pin:sip:decl.test;udp'), /127\.0\.5\.2/);
    } finally {
      await store.close();
    }
  });

  test("two instances share pins and marks; the slot's primary is killed, its replica promoted, both write again, nothing lost", async (t) => {
    const a = instance();
    const b = instance();
    await until(() => a.link.status().state === 'up' && b.link.status().state === 'up', 'both up');
    const base = storeKeys(PREFIX, true).base;
    const { primary, replica } = cluster.ownerOf(base);
    assert.ok(replica, "the slot's primary has a replica");
    // Changes travel on a shard channel (Redis 7) of the store's slot; expiry events are read from every primary.
    assert.match(cluster.cli(primary, 'PUBSUB', 'SHARDNUMSUB', `${base}:changes`), /\n2\n?$/);
    await until(
      () =>
        cluster.nodes.filter((n) =>
          /:expired\n2\n?$/.test(cluster.cli(n, 'PUBSUB', 'NUMSUB', '__keyevent@0__:expired')),
        ).length === 3,
      'both instances listen for expiries on all three primaries',
    );

    for (let i = 0; i < 200; i++) a.locator.markSucceeded(T(1 + (i % 3)), `sip:c${i}.test;udp`);
    await until(() => b.locator.state().pins.length === 200, "B has A's 200 pins");
    // B's failure mark drops the 66 pins on that target on both instances.
    b.locator.markFailed(T(3), { reason: '503', retryAfter: 600 });
    await until(
      () => a.locator.state().marks.some((m) => m.address === '127.0.5.3') && a.locator.state().pins.length === 134,
      "A has B's mark and dropped its pins",
    );
    await a.link.flush();
    await b.link.flush();
    const keysBefore = Number(cluster.cli(primary, 'DBSIZE').trim());
    assert.equal(b.locator.state().pins.length, 134);
    assert.equal(keysBefore, 134 + 1, "every pin and the mark live on the slot's primary");
    assert.equal(
      cluster
        .cli(primary, 'KEYS', '*')
        .split('\n')
        .filter((k) => k && !k.startsWith(`${base}:`)).length,
      0,
      'every key carries the hash tag',
    );

    const t0 = performance.now();
    await primary.kill();
    const lateA = 'sip:after-failover-a.test;udp';
    await until(
      () =>
        cluster.cli(replica, 'ROLE').startsWith('master') &&
        a.link.status().state === 'up' &&
        b.link.status().state === 'up',
      { what: 'the replica was promoted and both links came back', ms: 30_000 },
    );
    a.locator.markSucceeded(T(4), lateA);
    b.locator.markFailed(T(5), { reason: '503', retryAfter: 600 });
    await until(
      () => b.locator.pinnedTarget(lateA)?.address === '127.0.5.4',
      "B sees A's pin written through the promoted replica",
    );
    await until(
      () => a.locator.state().marks.some((m) => m.address === '127.0.5.5'),
      "A sees B's mark written through the promoted replica",
    );
    t.diagnostic(`store.clusterFailoverMs ${Math.round(performance.now() - t0)}`);
    await a.link.flush();
    await b.link.flush();
    assert.equal(cluster.ownerOf(base).primary.port, replica.port);
    const pins = a.locator.state().pins.length;
    assert.equal(b.locator.state().pins.length, pins, 'both instances agree on the pins');
    assert.equal(
      Number(cluster.cli(replica, 'DBSIZE').trim()),
      pins + 2,
      'the promoted replica holds every pin and both marks',
    );
    await until(
      () => /:expired\n2\n?$/.test(cluster.cli(replica, 'PUBSUB', 'NUMSUB', '__keyevent@0__:expired')),
      'both instances listen for expiries on the promoted replica',
    );
  });
});
