// The DNS client against a fake server: the behaviour real servers will not show on request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as dnsPacket from 'dns-packet';
import { createDnsClient } from '../../src/core/dns/client';
import { SipLocateError } from '../../src/core/errors';
import { deadNameserver, reply, soa, startFakeDns, type FakeQuery } from '../servers/fake-dns';
// Questions and packets are counted at the server and in the stats: the classic timer (COUNTED) keeps a slow turn of
// a loaded machine from looking like a second question (the adaptive timer's retransmissions are retransmit.test.ts's).
import { COUNTED } from '../support/counting';

const A = (name: string, data: string, ttl = 60): dnsPacket.Answer => ({ type: 'A', name, ttl, data });
const SRV = (name: string, target: string, port = 5060, ttl = 60): dnsPacket.Answer => ({
  type: 'SRV',
  name,
  ttl,
  data: { priority: 10, weight: 1, port, target },
});
const good = (q: FakeQuery): Buffer => reply(q, { answers: [A(q.name, '192.0.2.1')] });

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    assert.ok(err instanceof SipLocateError, `expected SipLocateError, got ${String(err)}`);
    return err.code;
  }
}

test('0x20: the question goes out in mixed case and the echoed case is required', async () => {
  const fake = await startFakeDns((q) => [
    reply(q, { questionName: q.name.toLowerCase(), answers: [A(q.name, '192.0.2.66')] }),
    { bytes: good(q), delayMs: 20 },
  ]);
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 1000, tries: 1 });
  const name = 'abcdefghijklmnopqrstuvwx.example.test';
  const a = await c.query(name, 'A');
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.notEqual(fake.queries[0]!.name, name, 'randomised case expected on 24+ letters');
  assert.equal(fake.queries[0]!.name.toLowerCase(), name);
  assert.equal(c.stats().mismatched, 1);
  c.close();
  await fake.stop();
});

test('a reply with another question is dropped and the real answer that follows is used', async () => {
  const fake = await startFakeDns((q) => [
    reply(q, { questionName: 'evil.example.test', answers: [A('evil.example.test', '203.0.113.9')] }),
    reply(q, { questionType: 'AAAA' }),
    { bytes: good(q), delayMs: 15 },
  ]);
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 1000, tries: 1 });
  const a = await c.query('www.example.test', 'A');
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  const s = c.stats();
  assert.equal(s.mismatched, 2);
  assert.equal(c.peek('evil.example.test', 'A'), undefined, 'forged name must not enter the cache');
  c.close();
  await fake.stop();
});

test('garbage from the server counts as a wrong ID: the query moves to TCP and succeeds there', async () => {
  const fake = await startFakeDns((q) =>
    q.transport === 'udp' ? [Buffer.from('garbage that is not DNS')] : [good(q)],
  );
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 1000, tries: 1 });
  const a = await c.query('www.example.test', 'A');
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.deepEqual(
    fake.queries.map((q) => q.transport),
    ['udp', 'tcp'],
  );
  c.close();
  await fake.stop();
});

test('a wrong ID from the server moves the query to TCP (RFC 5452 9.3) and the TCP answer is used', async () => {
  const fake = await startFakeDns((q) =>
    q.transport === 'udp' ? [reply(q, { id: (q.id + 1) & 0xffff, answers: [A(q.name, '203.0.113.1')] })] : [good(q)],
  );
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 1000, tries: 1 });
  const a = await c.query('www.example.test', 'A');
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.deepEqual(
    fake.queries.map((q) => q.transport),
    ['udp', 'tcp'],
  );
  assert.equal(c.stats().spoofSuspected, 1);
  assert.equal(c.stats().tcpAttempts, 1);
  c.close();
  await fake.stop();
});

test('TC: the partial UDP answer is never used; TCP gives the whole answer', async () => {
  const fake = await startFakeDns((q) =>
    q.transport === 'udp'
      ? [reply(q, { truncated: true, answers: [A(q.name, '203.0.113.7')] })]
      : [reply(q, { answers: [A(q.name, '192.0.2.1'), A(q.name, '192.0.2.2')] })],
  );
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 1000, tries: 1 });
  const a = await c.query('big.example.test', 'A');
  assert.deepEqual(a.records.map((r) => r.data).sort(), ['192.0.2.1', '192.0.2.2']);
  assert.equal(c.stats().truncated, 1);
  c.close();
  await fake.stop();
});

test('a TCP answer cut in the middle is an error for that nameserver, and the next one answers', async () => {
  const broken = await startFakeDns((q) =>
    q.transport === 'udp' ? [reply(q, { truncated: true })] : [{ bytes: good(q), partial: true }],
  );
  const healthy = await startFakeDns((q) => [good(q)]);
  const c = createDnsClient({ nameservers: [broken.nameserver, healthy.nameserver], timeoutMs: 1000, tries: 1 });
  const a = await c.query('www.example.test', 'A');
  assert.equal(a.nameserver, healthy.nameserver);
  c.close();
  await broken.stop();
  await healthy.stop();
});

test('SERVFAIL, REFUSED and NOTIMP move on to the next nameserver', async () => {
  for (const [rcode, code] of [
    [2, 'ESERVFAIL'],
    [5, 'EREFUSED'],
    [4, 'ENOTIMP'],
  ] as const) {
    const bad = await startFakeDns((q) => [reply(q, { rcode })]);
    const ok = await startFakeDns((q) => [good(q)]);
    const c = createDnsClient({
      ...COUNTED,
      nameservers: [bad.nameserver, ok.nameserver],
      timeoutMs: 1000,
      tries: 1,
    });
    const a = await c.query('www.example.test', 'A');
    assert.equal(a.nameserver, ok.nameserver, `after ${code}`);
    const only = createDnsClient({ ...COUNTED, nameservers: [bad.nameserver], timeoutMs: 1000, tries: 2 });
    assert.equal(await codeOf(only.query('www.example.test', 'A')), code);
    assert.equal(bad.queries.length, 3, `${code}: one query from the pair, two tries alone`);
    c.close();
    only.close();
    await bad.stop();
    await ok.stop();
  }
});

test('a silent nameserver times out per attempt, the timeout doubles per round up to maxTimeoutMs, the budget is nameservers x tries', async () => {
  const silent = await startFakeDns(() => []);
  const c = createDnsClient({ ...COUNTED, nameservers: [silent.nameserver], timeoutMs: 100, tries: 3 });
  let t0 = performance.now();
  await assert.rejects(c.query('www.example.test', 'A'), { code: 'ETIMEOUT', message: /within 400 ms/ });
  let ms = performance.now() - t0;
  assert.equal(silent.queries.length, 3);
  // Timers never fire early, so the sum of the three timeouts is a lower bound; the count of timeouts bounds it from above.
  assert.ok(ms >= 690, `100 + 200 + 400 ms expected, took ${ms} ms`);
  assert.equal(c.stats().timeouts, 3);
  const capped = createDnsClient({
    ...COUNTED,
    nameservers: [silent.nameserver],
    timeoutMs: 100,
    maxTimeoutMs: 150,
    tries: 3,
  });
  t0 = performance.now();
  await assert.rejects(capped.query('www.example.test', 'A'), { code: 'ETIMEOUT', message: /within 150 ms/ });
  ms = performance.now() - t0;
  assert.ok(ms >= 390, `100 + 150 + 150 ms expected, took ${ms} ms`);
  assert.equal(silent.queries.length, 6);
  assert.equal(capped.stats().timeouts, 3);
  c.close();
  capped.close();
  await silent.stop();
});

test('ECONNREFUSED moves on at once and is not retried on that nameserver', async () => {
  const dead = await deadNameserver();
  const ok = await startFakeDns((q) => [good(q)]);
  const c = createDnsClient({ ...COUNTED, nameservers: [dead, ok.nameserver], timeoutMs: 2000, tries: 3 });
  const a = await c.query('www.example.test', 'A');
  assert.equal(c.stats().timeouts, 0, 'refused must not wait for the timeout');
  assert.equal(a.nameserver, ok.nameserver);
  const allDead = createDnsClient({ nameservers: [dead], timeoutMs: 2000, tries: 3 });
  assert.equal(await codeOf(allDead.query('www.example.test', 'A')), 'ECONNREFUSED');
  c.close();
  allDead.close();
  await ok.stop();
});

test('malformed replies are an error for the attempt, never an exception', async () => {
  const fake = await startFakeDns((q) => {
    const b = good(q);
    b.writeUInt16BE(40, 6);
    return [b];
  });
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 300, tries: 2 });
  assert.equal(await codeOf(c.query('www.example.test', 'A')), 'EBADRESP');
  assert.equal(c.stats().malformed, 2);
  c.close();
  await fake.stop();
});

test('FORMERR without OPT: the query is sent again without EDNS', async () => {
  const fake = await startFakeDns((q) => (q.hasOpt ? [reply(q, { rcode: 1, opt: false })] : [good(q)]));
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 500, tries: 1 });
  await c.query('www.example.test', 'A');
  assert.deepEqual(
    fake.queries.map((q) => q.hasOpt),
    [true, false],
  );
  c.close();
  await fake.stop();
});

test('a server that answers in lower case only: 0x20 is turned off for it after one timeout', async () => {
  const fake = await startFakeDns((q) => [
    reply(q, { questionName: q.name.toLowerCase(), answers: [A(q.name.toLowerCase(), '192.0.2.1')] }),
  ]);
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 150, tries: 1 });
  const a = await c.query('abcdefghijklmnopqrstuvwxyz.example.test', 'A');
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.equal(fake.queries.length, 2);
  assert.equal(fake.queries[1]!.name, 'abcdefghijklmnopqrstuvwxyz.example.test');
  await c.query('other.example.test', 'A');
  assert.equal(fake.queries.length, 3, 'later queries go without 0x20 at once');
  c.close();
  await fake.stop();
});

test('identical queries in flight are merged into one', async () => {
  const fake = await startFakeDns((q) => [{ bytes: good(q), delayMs: 30 }]);
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 1000 });
  const all = await Promise.all(Array.from({ length: 20 }, () => c.query('www.example.test', 'A')));
  assert.equal(all.length, 20);
  assert.equal(fake.queries.length, 1);
  assert.equal(c.stats().merged, 19);
  c.close();
  await fake.stop();
});

test('negative answers are cached for min(SOA TTL, MINIMUM); TTL floor and cap apply; TTL 0 is used once', async (t) => {
  let now = 1_000_000;
  const clock = { now: () => now };
  const fake = await startFakeDns((q) => {
    const n = q.name.toLowerCase();
    if (n.startsWith('nx')) return [reply(q, { rcode: 3, authorities: [soa('example.test', 30, 300)] })];
    if (n.startsWith('zero')) return [reply(q, { answers: [A(q.name, '192.0.2.9', 0)] })];
    if (n.startsWith('long')) return [reply(q, { answers: [A(q.name, '192.0.2.8', 99999)] })];
    return [reply(q, { answers: [A(q.name, '192.0.2.1', 5)] })];
  });
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], clock, minTtl: 10, maxTtl: 600 });
  t.after(async () => {
    c.close();
    await fake.stop();
  });
  assert.equal(await codeOf(c.query('nx.example.test', 'A')), 'ENOTFOUND');
  assert.equal(await codeOf(c.query('nx.example.test', 'A')), 'ENOTFOUND');
  assert.equal(fake.queries.length, 1, 'NXDOMAIN cached');
  now += 31_000;
  assert.equal(await codeOf(c.query('nx.example.test', 'A')), 'ENOTFOUND');
  assert.equal(fake.queries.length, 2, 'negative entry expired after 30 s');

  const short = await c.query('short.example.test', 'A');
  assert.equal(short.ttl, 10, 'floor 10 s');
  const long = await c.query('long.example.test', 'A');
  assert.equal(long.ttl, 600, 'cap 600 s');
  const zero = await c.query('zero.example.test', 'A');
  assert.equal(zero.ttl, 0);
  await c.query('zero.example.test', 'A');
  assert.equal(fake.queries.filter((q) => q.name.toLowerCase().startsWith('zero')).length, 2, 'TTL 0 is not cached');
});

test('additional records: only names the answer refers to, inside the bailiwick; never over answer data', async () => {
  const fake = await startFakeDns((q) => {
    const n = q.name.toLowerCase();
    if (n === '_sip._udp.example.test') {
      return [
        reply(q, {
          answers: [SRV(q.name, 'sip1.example.test')],
          additionals: [
            A('sip1.example.test', '192.0.2.1'),
            A('www.bank.test', '203.0.113.66'), // out of bailiwick
            A('unrelated.example.test', '203.0.113.67'), // in bailiwick but not referenced
            A('sip2.example.test', '203.0.113.68'),
          ],
        }),
      ];
    }
    if (n === 'sip2.example.test') return [reply(q, { answers: [A(q.name, '192.0.2.2')] })];
    return [reply(q, { rcode: 3, authorities: [soa('example.test')] })];
  });
  const c = createDnsClient({ nameservers: [fake.nameserver] });
  const direct = await c.query('sip2.example.test', 'A');
  await c.query('_sip._udp.example.test', 'SRV');
  const hit = c.peek('sip1.example.test', 'A');
  assert.ok(hit && !(hit instanceof Error));
  assert.equal(hit.trust, 'additional');
  assert.deepEqual(
    hit.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.equal(c.peek('www.bank.test', 'A'), undefined);
  assert.equal(c.peek('unrelated.example.test', 'A'), undefined);
  const sip2 = c.peek('sip2.example.test', 'A');
  assert.ok(sip2 && !(sip2 instanceof Error));
  assert.deepEqual(
    sip2.records.map((r) => r.data),
    direct.records.map((r) => r.data),
    'additional data never overwrites answer data',
  );
  assert.equal(sip2.trust, 'answer');
  assert.equal(c.stats().additionalRejected, 3);
  c.close();
  await fake.stop();
});

test('CNAME chains are followed by re-query; loops end in ECNAMELOOP', async () => {
  const fake = await startFakeDns((q) => {
    const n = q.name.toLowerCase();
    if (n === 'a.example.test')
      return [reply(q, { answers: [{ type: 'CNAME', name: q.name, ttl: 60, data: 'b.example.test' }] })];
    if (n === 'b.example.test') return [reply(q, { answers: [A(q.name, '192.0.2.5', 20)] })];
    if (n === 'l1.example.test')
      return [
        reply(q, {
          answers: [
            { type: 'CNAME', name: q.name, ttl: 60, data: 'l2.example.test' },
            { type: 'CNAME', name: 'l2.example.test', ttl: 60, data: 'l1.example.test' },
          ],
        }),
      ];
    return [];
  });
  const c = createDnsClient({ nameservers: [fake.nameserver], timeoutMs: 300, tries: 1 });
  const a = await c.query('a.example.test', 'A');
  assert.equal(a.canonicalName, 'b.example.test');
  assert.equal(a.ttl, 20);
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.5'],
  );
  assert.equal(await codeOf(c.query('l1.example.test', 'A')), 'ECNAMELOOP');
  c.close();
  await fake.stop();
});

test('bad input and a closed client reject with typed errors, never throw synchronously', async () => {
  const fake = await startFakeDns((q) => [{ bytes: good(q), delayMs: 200 }]);
  const c = createDnsClient({ nameservers: [fake.nameserver] });
  assert.equal(await codeOf(c.query('a..b', 'A')), 'EINVALIDNAME');
  assert.equal(await codeOf(c.query('x'.repeat(64) + '.test', 'A')), 'EINVALIDNAME');
  assert.equal(await codeOf(c.query(42 as unknown as string, 'A')), 'EINVALIDNAME');
  const pending = c.query('www.example.test', 'A');
  const ac = new AbortController();
  const cancelled = c.query('www.example.test', 'A', { signal: ac.signal });
  ac.abort();
  assert.equal(await codeOf(cancelled), 'ECANCELLED');
  c.close();
  assert.equal(await codeOf(pending), 'ECLOSED');
  assert.equal(await codeOf(c.query('www.example.test', 'A')), 'ECLOSED');
  assert.throws(() => createDnsClient({ nameservers: ['not-an-ip'] }), { code: 'EINVALIDNAMESERVER' });
  assert.throws(() => createDnsClient({ nameservers: ['127.0.0.1'], timeoutMs: -1 }), { code: 'EINVALIDOPTION' });
  await fake.stop();
});
