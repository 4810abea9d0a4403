// Bursts against a real redis-server: 100,000 new pins made as fast as the locator can (distinct destinations,
// numeric targets: no DNS), written behind in batches; then a second instance catches up with all of them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type SipLocator } from '../../src/core/locator';
import type { Target } from '../../src/core/types';
import { linkStore, type StoreLink } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { until } from '../support/wait';
import { closeAll } from './close-all';
import { withAddressing } from '../../src/core/target';

const N = 100_000;
const T = (n: number): Target =>
  withAddressing({
    transport: 'udp',
    address: `127.0.1.${n}`,
    port: 5060,
    family: 4,
    host: `h${n}.test`,
    source: 'srv',
    ttl: 60,
  });

/** DBSIZE of the test's own Redis (only this test writes to it). */
async function dbsize(redis: RunningRedis): Promise<number> {
  return Number(/^:(\d+)/.exec(await redis.command('DBSIZE'))?.[1] ?? -1);
}

/** Waits until DBSIZE reaches n; resolves with the size then. */
async function waitDbsize(redis: RunningRedis, n: number): Promise<number> {
  let size = -1;
  await until(async () => (size = await dbsize(redis)) >= n, { what: `DBSIZE ${n}`, ms: 60_000 });
  return size;
}

describe('Redis store under a burst of 100,000 pins (real redis-server)', { skip: skipUnlessRedis() }, () => {
  let redis: RunningRedis;
  const open: Array<{ locator: SipLocator; link: StoreLink }> = [];

  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await closeAll(open);
    await redis?.stop();
  });

  function instance(
    prefix: string,
    timeoutMs?: number,
    maxPending?: number,
  ): { locator: SipLocator; link: StoreLink; states: string[] } {
    const locator = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(
      locator,
      createRedisStore({ url: redis.url, prefix, ...(timeoutMs ? { timeoutMs } : {}) }),
      maxPending ? { maxPending } : {},
    );
    const states: string[] = [];
    link.onStatus((s) => states.push(s.state));
    open.push({ locator, link });
    return { locator, link, states };
  }

  async function burst(prefix: string, pause: boolean): Promise<void> {
    await closeAll(open);
    await redis.command('FLUSHALL');
    // 10 s for a reply when not paused (the 3 s default is for production): the burst is the subject, not a loaded machine.
    const a = instance(prefix, pause ? 1000 : 10_000);
    await until(() => a.link.status().state === 'up', 'A up');
    const upStates = a.states.length;
    if (pause) assert.equal(await redis.command('CLIENT PAUSE 2000 ALL'), '+OK\r\n');
    const targets = [T(1), T(2), T(3), T(4)];
    for (let i = 0; i < N; i++) a.locator.markSucceeded(targets[i % 4]!, `sip:+4930${i}@burst.test;udp`);
    // The link's status is read from memory every 10 ms: DBSIZE below is itself held up by CLIENT PAUSE ALL.
    let sawSlow = false;
    const watch = setInterval(() => {
      sawSlow ||= a.link.status().slow === true;
    }, 10);
    assert.equal(a.locator.state().pins.length, N);
    assert.ok(a.link.status().pending <= 100_000, `the queue is bounded (${a.link.status().pending})`);
    let size: number;
    try {
      size = await waitDbsize(redis, N);
    } finally {
      clearInterval(watch);
    }
    assert.equal(size, N, 'Redis holds every pin');
    await a.link.flush();
    const s = a.link.status();
    assert.deepEqual([s.state, s.failed, s.pending], ['up', 0, 0]);
    assert.deepEqual(a.states.slice(upStates), [], 'the link never left "up"');
    if (pause) assert.equal(sawSlow, true, 'the paused batches were reported slow, not down');
    const sample = await redis.command(`GET "${prefix}:pin:sip:+4930${N - 1}@burst.test;udp"`);
    assert.match(sample, /127\.0\.1\.4/);

    const b = instance(prefix);
    await until(() => b.link.status().state === 'up', 'B caught up');
    assert.equal(b.locator.state().pins.length, N, 'the second instance holds every pin');
    assert.equal(b.locator.pinnedTarget(`sip:+4930${N - 2}@burst.test;udp`)?.address, '127.0.1.3');
    assert.equal(b.link.status().invalid, 0);
    await closeAll(open);
  }

  test('100,000 pins made at once: the link stays up, none fails, Redis has them all, a second instance catches up', async () => {
    await burst('burst', false);
  });

  test('the same while Redis is paused for 2 s: slow, never down, nothing lost', async () => {
    await burst('paused', true);
  });

  test('a full queue drops its oldest additions and memory is written out instead: nothing is lost, nothing blocks', async () => {
    await closeAll(open);
    await redis.command('FLUSHALL');
    const a = instance('bounded', undefined, 1000);
    await until(() => a.link.status().state === 'up', 'A up');
    for (let i = 0; i < 10_000; i++) a.locator.markSucceeded(T(1 + (i % 4)), `sip:+4940${i}@bound.test;udp`);
    const pending = a.link.status().pending;
    assert.ok(pending <= 1000 && pending >= 900, `the queue stays within its bound of 1,000 (${pending})`);
    assert.equal(await waitDbsize(redis, 10_000), 10_000, 'Redis holds every pin');
    await a.link.flush();
    assert.deepEqual([a.link.status().state, a.link.status().failed, a.link.status().pending], ['up', 0, 0]);
    assert.ok(a.link.status().written >= 10_000, 'dropped additions were rewritten from memory');
    await closeAll(open);
  });
});
