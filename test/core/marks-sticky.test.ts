// Failure marks, failover order and sticky pins, with a controllable clock, over real BIND data.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestLocator, type LocatorTestOptions } from '../../src/core/locator';
import { createDnsClient } from '../../src/core/dns/client';
import type { DnsQuerier } from '../../src/core/dns/types';
import type { Target } from '../../src/core/types';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { startProxy, type DnsProxy } from '../servers/proxy';
import { seeded } from '../rfc3263/seeded';
import { COUNTED } from '../support/counting';

const URI = 'sip:example.test;transport=udp';
const key = (t: Target): string => `${t.address}:${t.port}`;

describe('marks, failover and sticky servers', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  let proxy: DnsProxy;
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  before(async () => {
    server = await startDnsServer('bind');
    proxy = await startProxy({ upstream: server.nameserver });
  });
  after(async () => {
    await proxy?.stop();
    await server?.stop();
  });
  const make = (o: LocatorTestOptions = {}): ReturnType<typeof createTestLocator> =>
    createTestLocator({ ...COUNTED, nameservers: [proxy.nameserver], clock, random: seeded(5), family: 'ipv4', ...o });

  test('concurrent misses for one destination share one plan: 200 at once ask DNS what one asks', async () => {
    const counted = async (n: number): Promise<{ asked: number; wire: number }> => {
      const dnsClient = createDnsClient({ ...COUNTED, nameservers: [proxy.nameserver] });
      let asked = 0;
      const querier: DnsQuerier = {
        query: (name, type, o) => {
          asked++;
          return dnsClient.query(name, type, o);
        },
        peek: (name, type) => dnsClient.peek(name, type),
      };
      const l = make({ querier });
      proxy.reset();
      const results = await Promise.all(Array.from({ length: n }, () => l.locate(URI)));
      assert.ok(results.every((r) => r.targets.length === 3));
      assert.ok(l.locateCached(URI), 'the plan is cached afterwards');
      l.close();
      dnsClient.close();
      return { asked, wire: proxy.udpQueries };
    };
    const one = await counted(1);
    const many = await counted(200);
    assert.deepEqual(
      many,
      one,
      `200 concurrent locates asked ${many.asked} questions (${many.wire} on the wire); one asked ${one.asked}`,
    );
  });

  test('a transport failure greylists for 32 s: tried after all others, never dropped', async () => {
    const l = make();
    const first = (await l.locate(URI)).targets;
    assert.equal(first.length, 3);
    l.markFailed(first[0]!, { reason: 'transport' });
    const again = (await l.locate(URI)).targets;
    assert.equal(key(again[2]!), key(first[0]!));
    assert.equal(again[2]!.mark, 'grey');
    assert.equal(again.length, 3);
    now += 31_000;
    assert.equal((await l.locate(URI)).targets[2]!.mark, 'grey');
    now += 2_000;
    assert.ok(
      (await l.locate(URI)).targets.every((t) => t.mark === undefined),
      'grey mark expired after 32 s',
    );
    l.close();
  });

  test('503 with Retry-After blacklists for that long (capped at 3600 s); without it, grey', async () => {
    const l = make();
    const [a, b] = (await l.locate(URI)).targets;
    l.markFailed(a!, { reason: '503', retryAfter: 120 });
    l.markFailed(b!, { reason: '503' });
    let t = (await l.locate(URI)).targets;
    assert.deepEqual(
      t.map((x) => x.mark),
      [undefined, 'grey', 'black'],
    );
    assert.equal(key(t[2]!), key(a!));
    now += 121_000;
    t = (await l.locate(URI)).targets;
    assert.ok(!t.some((x) => x.mark === 'black'));
    l.markFailed(a!, { reason: '503', retryAfter: 999_999 });
    assert.equal(l.state().marks.find((m) => m.address === a!.address)!.expiresAt, now + 3_600_000);
    l.close();
  });

  test('markSucceeded clears a grey mark but not a black one', async () => {
    const l = make();
    const [a, b] = (await l.locate(URI)).targets;
    l.markFailed(a!, { reason: 'timeout' });
    l.markFailed(b!, { reason: '503', retryAfter: 60 });
    l.markSucceeded(a!);
    l.markSucceeded(b!);
    assert.deepEqual(
      l.state().marks.map((m) => `${m.address} ${m.mark}`),
      [`${b!.address} black`],
    );
    assert.throws(() => l.markFailed(a!, { reason: 'bogus' as 'timeout' }), { code: 'EINVALIDOPTION' });
    l.close();
  });

  test('failover: untried unmarked targets in list order, then grey, then black; undefined when none is left', async () => {
    const l = make();
    const r = await l.locate(URI);
    const [t1, t2, t3] = r.targets;
    l.markFailed(t2!, { reason: 'transport' });
    const state = { destination: r.destination, targets: r.targets, tried: [t1!] };
    const n1 = l.failover(state, { reason: 'timeout' });
    assert.equal(key(n1!), key(t3!), 'skips the grey one while an unmarked one remains');
    const n2 = l.failover({ ...state, tried: [t1!, t3!] }, { reason: '503', retryAfter: 30 });
    assert.equal(key(n2!), key(t2!));
    assert.equal(l.failover({ ...state, tried: [t1!, t3!, t2!] }, { reason: 'transport' }), undefined);
    l.close();
  });

  test('sticky: the first target handed out stays first for the destination, across users and request types', async () => {
    const l = make({ sticky: true, random: seeded(11) });
    const r1 = await l.locate(URI);
    assert.equal(r1.sticky, true);
    for (let i = 0; i < 30; i++) {
      const r = await l.locate(i % 2 ? 'sip:bob@example.test;transport=udp' : '<sip:alice@example.test;transport=udp>');
      assert.equal(key(r.targets[0]!), key(r1.targets[0]!));
      assert.equal(r.sticky, true);
    }
    assert.equal(l.state().pins.length, 1);
    const plain = make({ sticky: false, random: seeded(11) });
    assert.equal((await plain.locate(URI)).sticky, false);
    assert.equal(plain.state().pins.length, 0);
    plain.close();
    l.close();
  });

  test('sticky: a failure ends the pin; the next target by the normal rules becomes sticky', async () => {
    const l = make({ sticky: true });
    const r1 = await l.locate(URI);
    const pinned = r1.targets[0]!;
    const next = l.failover(
      { destination: r1.destination, targets: r1.targets, tried: [pinned] },
      { reason: 'transport' },
    );
    assert.ok(next);
    assert.notEqual(key(next), key(pinned));
    assert.deepEqual(
      l.state().pins.map((p) => key(p.target)),
      [key(next)],
    );
    for (let i = 0; i < 10; i++) assert.equal(key((await l.locate(URI)).targets[0]!), key(next));
    l.close();
  });

  test('sticky: a pin that DNS no longer lists is dropped', async () => {
    const l = make({ sticky: true });
    const r = await l.locate(URI);
    l.markSucceeded({ transport: 'udp', address: '127.0.9.9', port: 5070 }, r.destination);
    assert.equal(l.state().pins[0]!.target.address, '127.0.9.9');
    const r2 = await l.locate(URI);
    assert.notEqual(r2.targets[0]!.address, '127.0.9.9');
    assert.notEqual(l.state().pins[0]!.target.address, '127.0.9.9');
    l.close();
  });

  test('marks, pins and the DNS cache are separate: resetState keeps the cache', async () => {
    const l = make({ sticky: true });
    await l.locate(URI);
    const before = proxy.udpQueries;
    l.markFailed((await l.locate(URI)).targets[0]!, { reason: 'transport' });
    l.resetState();
    assert.deepEqual(l.state(), { marks: [], pins: [] });
    await l.locate(URI);
    assert.equal(proxy.udpQueries, before, 'no new DNS query');
    l.close();
    await assert.rejects(l.locate(URI), { code: 'ECLOSED' });
  });
});
