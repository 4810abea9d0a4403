// Shared state through a real redis-server: two locators (as two Node-RED instances would hold), each linked
// to its own Redis store with the same prefix. Pins and marks travel between them; Redis is killed and restarted.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type SipLocator } from '../../src/core/locator';
import type { StateChange, Target } from '../../src/core/types';
import { linkStore, type StoreLink } from '../../src/store/link';
import { createRedisStore, parseRedisUrl } from '../../src/store/redis';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { seeded } from '../rfc3263/seeded';
import { until } from '../support/wait';
import { closeAll } from './close-all';
import { freePort } from '../servers/ports';

const URI = 'sip:example.test;transport=udp';
const key = (t: { transport: string; address: string; port: number }): string =>
  `${t.transport} ${t.address}:${t.port}`;

interface Instance {
  locator: SipLocator;
  link: StoreLink;
  /** When each remote change was applied (ms, performance.now()). */
  applied: Array<{ at: number; change: StateChange }>;
}

describe('Redis state store (real redis-server)', { skip: skipUnless('bind') || skipUnlessRedis() }, () => {
  let dns: RunningDnsServer;
  let redis: RunningRedis;
  let prefixN = 0;
  const open: Instance[] = [];

  before(async () => {
    dns = await startDnsServer('bind');
    redis = await startRedis();
  });
  after(async () => {
    await closeAll(open);
    await redis?.stop();
    await dns?.stop();
  });

  function instance(prefix: string, seed: number, greylistSeconds = 60): Instance {
    const locator = createLocator({
      nameservers: [dns.nameserver],
      family: 'ipv4',
      sticky: true,
      random: seeded(seed),
      greylistSeconds,
    });
    const applied: Instance['applied'] = [];
    const apply = locator.apply.bind(locator);
    locator.apply = (change: StateChange): void => {
      apply(change);
      applied.push({ at: performance.now(), change });
    };
    const link = linkStore(locator, createRedisStore({ url: redis.url, prefix }));
    const i = { locator, link, applied };
    open.push(i);
    return i;
  }

  async function pair(seedA = 1, seedB = 2, greylistSeconds = 60): Promise<[Instance, Instance, string]> {
    const prefix = `t${++prefixN}`;
    const a = instance(prefix, seedA, greylistSeconds);
    const b = instance(prefix, seedB, greylistSeconds);
    await until(() => a.link.status().state === 'up' && b.link.status().state === 'up', 'both links up');
    return [a, b, prefix];
  }

  test('a Redis URL is checked: scheme, host and database number', () => {
    assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6379/3'), { db: 3 });
    assert.deepEqual(parseRedisUrl('rediss://user:pw@127.0.0.1'), { db: 0 });
    for (const bad of ['http://127.0.0.1', 'redis://', 'redis://127.0.0.1/x', 'not a url']) {
      assert.throws(() => parseRedisUrl(bad), { code: 'EINVALIDOPTION' }, bad);
    }
    assert.throws(() => createRedisStore({ url: 'redis://127.0.0.1', prefix: '' }), { code: 'EINVALIDOPTION' });
  });

  test('a pin made by one instance is used by the other; propagation delay measured', async (t) => {
    const [a, b, prefix] = await pair();
    const first = await a.locator.locate(URI);
    assert.equal(first.sticky, true);
    const pinned = first.targets[0]!;
    await until(() => b.locator.state().pins.some((p) => key(p.target) === key(pinned)), "B learns A's pin");
    for (let i = 0; i < 20; i++) {
      const r = await b.locator.locate(URI);
      assert.deepEqual([key(r.targets[0]!), r.sticky], [key(pinned), true], `message ${i} on B`);
    }
    const stored = JSON.parse(await redisGet(`${prefix}:pin:${first.destination}`)) as { target: Target };
    assert.equal(key(stored.target), key(pinned));

    // 200 pins made on A, each timed until B has applied it.
    const delays: number[] = [];
    for (let i = 0; i < 200; i++) {
      const dest = `sip:d${i}.example.test:5060;udp`;
      const t0 = performance.now();
      a.locator.markSucceeded(pinned, dest);
      await until(
        () => b.applied.some((x) => x.change.op === 'pin' && x.change.pin.destination === dest),
        `pin ${i} reaches B`,
      );
      delays.push(b.applied.find((x) => x.change.op === 'pin' && x.change.pin.destination === dest)!.at - t0);
    }
    delays.sort((x, y) => x - y);
    const p = (q: number): number => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]!;
    t.diagnostic(
      `propagation A -> Redis -> B over 200 pins: p50 ${p(0.5).toFixed(2)} ms, p99 ${p(0.99).toFixed(2)} ms, max ${delays[delays.length - 1]!.toFixed(2)} ms`,
    );
    assert.equal(b.locator.state().pins.length, 201);
    // Each pin reached B as its own remote change (pushed, not found by a later catch-up): a count, not a time window.
    assert.equal(
      b.applied.filter((x) => x.change.op === 'pin' && x.change.pin.destination.startsWith('sip:d')).length,
      200,
    );
  });

  test('conflicting pins: the first writer wins, and both instances end on it', async () => {
    const [a, b, prefix] = await pair(11, 12);
    const r = await a.locator.locate(URI);
    const dest = 'sip:conflict.example.test:5060;udp';
    const [tA, tB] = [r.targets[1]!, r.targets[2]!];
    // Same tick: neither can have heard of the other's pin.
    a.locator.markSucceeded(tA, dest);
    b.locator.markSucceeded(tB, dest);
    assert.equal(key(a.locator.state().pins.find((p) => p.destination === dest)!.target), key(tA));
    assert.equal(key(b.locator.state().pins.find((p) => p.destination === dest)!.target), key(tB));
    await until(() => {
      const pa = a.locator.state().pins.find((p) => p.destination === dest);
      const pb = b.locator.state().pins.find((p) => p.destination === dest);
      return !!pa && !!pb && key(pa.target) === key(pb.target);
    }, 'A and B agree on one pin');
    const winner = key((JSON.parse(await redisGet(`${prefix}:pin:${dest}`)) as { target: Target }).target);
    assert.equal(winner, key(tA), "A wrote first, so A's pin stands");
    assert.equal(key(b.locator.state().pins.find((p) => p.destination === dest)!.target), key(tA));
  });

  test('a failure seen by one instance moves both', async () => {
    const [a, b] = await pair(3, 4);
    const r = await a.locator.locate(URI);
    const pinned = r.targets[0]!;
    await until(() => b.locator.state().pins.some((p) => key(p.target) === key(pinned)), 'B has the pin');
    const next = a.locator.failover(
      { destination: r.destination, targets: r.targets, tried: [pinned] },
      { reason: 'timeout' },
    )!;
    assert.notEqual(key(next), key(pinned));
    await until(() => b.locator.state().pins.some((p) => key(p.target) === key(next)), "B moves to A's new pin");
    const onB = await b.locator.locate(URI);
    assert.equal(key(onB.targets[0]!), key(next));
    assert.equal(onB.sticky, true);
    assert.deepEqual(
      onB.targets.filter((t) => t.mark).map((t) => `${key(t)} ${t.mark}`),
      [`${key(pinned)} grey`],
    );
    assert.deepEqual(b.locator.state().marks.map(key), [key(pinned)]);
  });

  test('reset on one instance clears both and Redis', async () => {
    const [a, b, prefix] = await pair(5, 6);
    const r = await a.locator.locate(URI);
    a.locator.markFailed(r.targets[1]!, { reason: '503', retryAfter: 300 });
    await until(
      () => b.locator.state().marks.length === 1 && b.locator.state().pins.length === 1,
      'B has mark and pin',
    );
    a.locator.resetState();
    await until(() => b.locator.state().marks.length === 0 && b.locator.state().pins.length === 0, 'B is cleared');
    assert.equal(
      await redis.command(
        `EVAL "return #redis.call('KEYS', ARGV[1]) + #redis.call('KEYS', ARGV[2])" 0 ${prefix}:mark:* ${prefix}:pin:*`,
      ),
      ':0\r\n',
    );
    // A reset is about failover state: the last good plan (DNS data, like the DNS cache) stays.
    assert.equal(await redis.command(`EVAL "return #redis.call('KEYS', ARGV[1])" 0 ${prefix}:plan:*`), ':1\r\n');
  });

  test('expiry: Redis reports expired keys (keyspace events switched on by the store), and a black mark is never weakened', async () => {
    const [a, b, prefix] = await pair(7, 8, 1);
    assert.match(await redis.command('CONFIG GET notify-keyspace-events'), /[xE].*[xE]|A/);
    const r = await a.locator.locate(URI);
    const t1 = r.targets[1]!;
    const t2 = r.targets[2]!;
    a.locator.markFailed(t1, { reason: '503', retryAfter: 120 });
    b.locator.markFailed(t1, { reason: 'timeout' });
    a.locator.markFailed(t2, { reason: 'transport' });
    await until(
      () => b.applied.some((x) => x.change.op === 'mark' && key(x.change.mark) === key(t2)),
      'B sees the grey mark',
    );
    const stored = JSON.parse(await redisGet(`${prefix}:mark:${t1.transport}|${t1.address}|${t1.port}`)) as {
      mark: string;
    };
    assert.equal(stored.mark, 'black', 'the grey mark from B did not replace the black one');
    await until(
      () => b.applied.some((x) => x.change.op === 'expired' && x.change.mark && key(x.change.mark) === key(t2)),
      'Redis announces the 1 s grey mark expired',
    );
    assert.deepEqual(
      b.locator.state().marks.map((m) => `${key(m)} ${m.mark}`),
      [`${key(t1)} black`],
    );
  });

  test('invalid records and messages in Redis are counted and ignored', async () => {
    const [a, b, prefix] = await pair(9, 10);
    await redis.command(`SET ${prefix}:pin:junk "{not json"`);
    await redis.command(
      `PUBLISH ${prefix}:changes "{\\"from\\":\\"x\\",\\"change\\":{\\"op\\":\\"pin\\",\\"pin\\":{\\"destination\\":\\"d\\",\\"target\\":{\\"transport\\":\\"udp\\",\\"address\\":\\"not-an-ip\\",\\"port\\":5060}}}}"`,
    );
    await until(() => a.link.status().invalid >= 1 && b.link.status().invalid >= 1, 'both count the bad message');
    a.locator.resetState();
    await until(() => a.link.status().state === 'up', 'still up');
    const before = b.link.status().invalid;
    await redis.command(`SET ${prefix}:mark:udp|127.0.0.1|5060 "[1,2]"`);
    await redis.command(`PUBLISH ${prefix}:changes reset-please`);
    await until(() => b.link.status().invalid > before, 'counted');
    assert.equal((await b.locator.locate(URI)).targets.length, 3);
  });

  test('Redis killed mid-run: both instances go on from memory, say so, and converge when it returns', async () => {
    const [a, b, prefix] = await pair(12, 13);
    const r = await a.locator.locate(URI);
    await until(() => b.locator.state().pins.length === 1, 'B has the pin');
    await redis.kill();
    await until(
      () => a.link.status().state === 'down' && b.link.status().state === 'down',
      'both report the store down',
    );
    assert.equal(a.link.status().error?.code, 'ESTOREDOWN');
    // Work goes on: every locate answers, failover works, from memory.
    let answered = 0;
    for (let i = 0; i < 50; i++) {
      const [x, y] = await Promise.all([a.locator.locate(URI), b.locator.locate(URI)]);
      if (x.targets.length === 3 && y.targets.length === 3) answered++;
    }
    assert.equal(answered, 50);
    const pinned = r.targets[0]!;
    const next = a.locator.failover(
      { destination: r.destination, targets: r.targets, tried: [pinned] },
      { reason: 'transport' },
    )!;
    assert.equal(key(b.locator.state().pins[0]!.target), key(pinned), 'B cannot know yet');
    await redis.restart();
    await until(() => a.link.status().state === 'up' && b.link.status().state === 'up', 'both reconnect');
    await until(() => {
      const sa = a.locator.state();
      const sb = b.locator.state();
      return (
        sa.pins.length === 1 &&
        sb.pins.length === 1 &&
        key(sa.pins[0]!.target) === key(sb.pins[0]!.target) &&
        sa.marks.map(key).join() === sb.marks.map(key).join()
      );
    }, 'A and B converge');
    if (process.env.DEBUG_STORE)
      console.error(
        JSON.stringify(
          {
            pinned: key(pinned),
            next: key(next),
            a: a.locator.state(),
            b: b.locator.state(),
            aApplied: a.applied.map((x) => x.change),
            bApplied: b.applied.map((x) => x.change),
          },
          null,
          1,
        ),
      );
    assert.equal(key(b.locator.state().pins[0]!.target), key(next), 'B moved to the server A failed over to');
    assert.deepEqual(b.locator.state().marks.map(key), [key(pinned)]);
    const stored = JSON.parse(await redisGet(`${prefix}:pin:${r.destination}`)) as { target: Target };
    assert.equal(key(stored.target), key(next), 'Redis holds the converged pin again');
  });

  test('Redis not there at start: the link says down, locating works, and it catches up once Redis starts', async () => {
    const port = await freePort('127.0.0.1');
    const l = createLocator({ nameservers: [dns.nameserver], family: 'ipv4', sticky: true, random: seeded(21) });
    const link = linkStore(l, createRedisStore({ url: `redis://127.0.0.1:${port}/0`, prefix: 'late' }));
    try {
      await until(() => link.status().state === 'down', 'the link reports down');
      assert.equal(link.status().error?.code, 'ESTOREDOWN');
      const r = await l.locate(URI);
      l.markFailed(r.targets[2]!, { reason: '503', retryAfter: 600 });
      const late = await startRedis({ port });
      try {
        await until(() => link.status().state === 'up', 'the link comes up');
        const pin = await late.command(`GET "late:pin:${r.destination}"`);
        assert.match(
          pin,
          new RegExp(r.targets[0]!.address.replace(/\./g, '\\.')),
          'the pin made while Redis was away is in Redis',
        );
        const mark = await late.command(`GET "late:mark:udp|${r.targets[2]!.address}|${r.targets[2]!.port}"`);
        assert.match(mark, /"mark":"black"/, 'and so is the mark');
      } finally {
        await link.close();
        await late.stop();
      }
    } finally {
      await link.close();
      l.close();
    }
  });

  async function redisGet(k: string): Promise<string> {
    const reply = await redis.command(`GET "${k.replace(/"/g, '\\"')}"`);
    const m = /^\$(\d+)\r\n([\s\S]*)\r\n$/.exec(reply);
    if (!m) throw new Error(`GET ${k}: ${reply}`);
    return m[2]!;
  }
});
