// Pins per (destination, key) shared through a real redis-server, as destination pins are: a key that moved on one
// instance is where it moved on the other; the longest key fits the store's record checks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type SipLocator } from '../../src/core/locator';
import { MAX_AFFINITY_KEY } from '../../src/core/rfc3263/affinity';
import { linkStore, type StoreLink } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { until } from '../support/wait';
import { closeAll } from './close-all';

const POOL = 'sip:pool.carriers.test;transport=udp';

describe('affinity pins through Redis', { skip: skipUnless('bind') || skipUnlessRedis() }, () => {
  let dns: RunningDnsServer;
  let redis: RunningRedis;
  const open: Array<{ locator: SipLocator; link: StoreLink }> = [];
  before(async () => {
    dns = await startDnsServer('bind', { zones: [{ origin: 'carriers.test', file: zonePath('carriers.test.zone') }] });
    redis = await startRedis();
  });
  after(async () => {
    await closeAll(open);
    await redis?.stop();
    await dns?.stop();
  });
  const instance = (): { locator: SipLocator; link: StoreLink } => {
    const locator = createLocator({ nameservers: [dns.nameserver], family: 'ipv4', sticky: true, affinity: 'key' });
    const i = { locator, link: linkStore(locator, createRedisStore({ url: redis.url, prefix: 'affinity' })) };
    open.push(i);
    return i;
  };

  test('a key moved on instance A (its server failed) is at the same place on instance B, for a key of 256 characters too', async () => {
    const a = instance();
    const b = instance();
    await until(() => a.link.status().state === 'up' && b.link.status().state === 'up', 'both links up');
    for (const key of ['alice@example.org', 'k'.repeat(MAX_AFFINITY_KEY)]) {
      const home = (await a.locator.locate(POOL, { key })).targets[0]!;
      await b.locator.locate(POOL, { key });
      const r = await a.locator.locate(POOL, { key });
      const moved = a.locator.failover(
        { destination: r.destination, targets: r.targets, tried: [home], key },
        { reason: 'transport' },
      )!;
      assert.notEqual(moved.key, home.key);
      await until(
        () => b.locator.pinnedTarget(r.destination, key)?.key === moved.key,
        `B sees the pin of ${key.slice(0, 20)}`,
      );
      const onB = await b.locator.locate(POOL, { key });
      assert.equal(onB.targets[0]!.key, moved.key);
      assert.equal(onB.sticky, true);
    }
  });
});
