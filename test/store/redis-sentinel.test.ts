// Redis Sentinel: a primary, a replica and three sentinels started by the test; two locators share pins
// through whichever server the sentinels name primary. The primary is killed mid-run; nothing is lost.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type SipLocator } from '../../src/core/locator';
import type { Target } from '../../src/core/types';
import { linkStore, type StoreLink } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { storeFromConfig } from '../../src/nodes/resolver-config';
import { skipUnlessSentinel, startSentinels, type RunningSentinels } from '../servers/redis';
import { closeAll } from './close-all';
import { until } from '../support/wait';
import { withAddressing } from '../../src/core/target';

const T = (n: number): Target =>
  withAddressing({
    transport: 'udp',
    address: `127.0.4.${n}`,
    port: 5060,
    family: 4,
    host: `h${n}.test`,
    source: 'srv',
    ttl: 60,
  });

describe('Redis Sentinel topology (real redis-server and redis-sentinel)', { skip: skipUnlessSentinel() }, () => {
  let group: RunningSentinels;
  const open: Array<{ locator: SipLocator; link: StoreLink }> = [];
  before(async () => {
    group = await startSentinels();
  });
  after(async () => {
    await closeAll(open);
    await group?.stop();
  });

  function instance(): { locator: SipLocator; link: StoreLink; states: string[] } {
    const locator = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(
      locator,
      createRedisStore({
        url: 'redis://sentinel/0',
        prefix: 'sen',
        topology: 'sentinel',
        sentinels: group.sentinels,
        masterName: group.masterName,
      }),
    );
    const states: string[] = [];
    link.onStatus((s) => states.push(s.state));
    open.push({ locator, link });
    return { locator, link, states };
  }

  test('options are checked', () => {
    assert.throws(
      () => createRedisStore({ url: 'redis://x', prefix: 'p', topology: 'sentinel', sentinels: [], masterName: 'm' }),
      { code: 'EINVALIDOPTION' },
    );
    assert.throws(
      () =>
        createRedisStore({
          url: 'redis://x',
          prefix: 'p',
          topology: 'sentinel',
          sentinels: ['127.0.0.1'],
          masterName: 'm',
        }),
      { code: 'EINVALIDOPTION' },
    );
    assert.throws(
      () =>
        createRedisStore({
          url: 'redis://x',
          prefix: 'p',
          topology: 'sentinel',
          sentinels: ['127.0.0.1:26379'],
          masterName: 'a b',
        }),
      { code: 'EINVALIDOPTION' },
    );
    const fromNode = storeFromConfig(
      {
        id: 'n1',
        store: 'redis',
        redisUrl: 'redis://x/0',
        redisTopology: 'sentinel',
        redisSentinels: '127.0.0.1:26379, [::1]:26380',
        redisMasterName: ' mymaster ',
      },
      'n1',
      'pw',
      undefined,
    );
    assert.deepEqual(
      [fromNode.redisTopology, fromNode.redisSentinels, fromNode.redisMasterName],
      ['sentinel', ['127.0.0.1:26379', '[::1]:26380'], 'mymaster'],
    );
  });

  test('the primary is killed mid-run: the replica is promoted, both instances write again, no pin is lost', async (t) => {
    const a = instance();
    const b = instance();
    await until(() => a.link.status().state === 'up' && b.link.status().state === 'up', 'both up');
    for (let i = 0; i < 200; i++) a.locator.markSucceeded(T(1 + (i % 3)), `sip:s${i}.test;udp`);
    await until(() => b.locator.state().pins.length === 200, "B has A's 200 pins");
    const before = await group.primaryPort();
    assert.equal(before, group.primary.port);
    const t0 = performance.now();
    await group.primary.kill();
    // Both go on from memory meanwhile; the new primary gets every pin back from memory when they reconnect.
    const late = 'sip:after-failover.test;udp';
    await until(
      async () =>
        (await group.primaryPort()) === group.replica.port &&
        a.link.status().state === 'up' &&
        b.link.status().state === 'up',
      { what: 'the replica was promoted and both links came back', ms: 30_000 },
    );
    a.locator.markSucceeded(T(4), late);
    await until(
      () => b.locator.pinnedTarget(late)?.address === '127.0.4.4',
      "B sees A's pin written through the new primary",
    );
    t.diagnostic(`store.sentinelFailoverMs ${Math.round(performance.now() - t0)}`);
    await a.link.flush();
    await b.link.flush();
    const keys = Number(/^:(\d+)/.exec(await group.replica.command('DBSIZE'))?.[1]);
    assert.equal(keys, 201, 'the new primary holds every pin');
    assert.equal(b.locator.state().pins.length, 201);
  });
});
