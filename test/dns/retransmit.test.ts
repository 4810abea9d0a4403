// One socket per question, retransmission on it, hedged copies and Karn's rule, against fake servers
// (real servers will not drop or delay one copy on request).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as dnsPacket from 'dns-packet';
import { createDnsClient } from '../../src/core/dns/client';
import { createLocator } from '../../src/core/locator';
import { MAX_COPIES } from '../../src/core/dns/slots';
import { UdpLane } from '../../src/core/dns/udp';
import { codeOf } from './helpers';
import { reply, startFakeDns, type FakeQuery } from '../servers/fake-dns';
// Tests that count copies with a fake the client has no round trip from yet use COUNTED (the classic timer);
// the adaptive timer's own tests below do not.
import { COUNTED } from '../support/counting';

const A = (name: string, data = '192.0.2.1'): dnsPacket.Answer => ({ type: 'A', name, ttl: 60, data });

test('an answer to the first copy that arrives after the retransmission is taken: same socket, same ID, same case', async () => {
  let n = 0;
  const fake = await startFakeDns((q: FakeQuery) =>
    n++ === 0 ? [{ bytes: reply(q, { answers: [A(q.name)] }), delayMs: 250 }] : [],
  );
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 100, tries: 3 });
  const a = await c.query('abcdefghijklmnop.example.test', 'A');
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.ok(fake.queries.length >= 2, 'retransmitted before the late answer came');
  assert.equal(new Set(fake.queries.map((q) => q.id)).size, 1, 'every copy carries the same ID');
  assert.equal(new Set(fake.queries.map((q) => q.name)).size, 1, 'and the same 0x20 case');
  assert.equal(c.stats().timeouts, fake.queries.length - 1);
  c.close();
  await fake.stop();
});

test('hedged: a late first server gets one copy, the second healthy one answers; hedge false waits out the first', async () => {
  const silent = await startFakeDns(() => []);
  const ok = await startFakeDns((q) => [reply(q, { answers: [A(q.name, '192.0.2.2')] })]);
  // 300 ms: the second server's answer comes well within its first timeout, even on a busy machine.
  const c = createDnsClient({ ...COUNTED, nameservers: [silent.nameserver, ok.nameserver], timeoutMs: 300, tries: 3 });
  assert.equal((await c.query('www.example.test', 'A')).nameserver, ok.nameserver);
  assert.deepEqual([silent.queries.length, ok.queries.length], [1, 1]);
  c.close();
  silent.queries.length = 0;
  ok.queries.length = 0;
  const plain = createDnsClient({
    ...COUNTED,
    nameservers: [silent.nameserver, ok.nameserver],
    timeoutMs: 300,
    tries: 3,
    hedge: false,
  });
  assert.equal((await plain.query('www.example.test', 'A')).nameserver, ok.nameserver);
  assert.deepEqual(
    [silent.queries.length, ok.queries.length],
    [3, 1],
    'three copies to the first server, then the second',
  );
  plain.close();
  await silent.stop();
  await ok.stop();
});

test('mayHedge false (the question budget is spent) keeps the copies on the first server', async () => {
  const silent = await startFakeDns(() => []);
  const ok = await startFakeDns((q) => [reply(q, { answers: [A(q.name)] })]);
  const c = createDnsClient({ ...COUNTED, nameservers: [silent.nameserver, ok.nameserver], timeoutMs: 200, tries: 2 });
  let asked = 0;
  const a = await c.query('www.example.test', 'A', { mayHedge: () => (asked++, false) });
  assert.equal(a.nameserver, ok.nameserver, "after the first server's copies are used up, the next server is asked");
  assert.equal(silent.queries.length, 2);
  assert.equal(asked, 2, 'asked each time a copy was late and the second server was free');
  c.close();
  await silent.stop();
  await ok.stop();
});

// The test's timeout is a failsafe: an unadapted timer is never fired by the mock clock, so the question would hang.
test(
  'the timer adapts: after answered questions, a lost copy is sent again long before timeoutMs; the retransmitted question is not sampled',
  { timeout: 20_000 },
  async (t) => {
    let drop = false;
    const seen = new Set<string>();
    // Resolved when the first copy of the lost question reaches the fake (which drops it).
    let lostArrived = (): void => undefined;
    const firstCopy = new Promise<void>((r) => (lostArrived = r));
    const fake = await startFakeDns((q) => {
      const key = q.name.toLowerCase();
      if (drop && !seen.has(key)) {
        seen.add(key);
        lostArrived();
        return [];
      }
      return [reply(q, { answers: [A(q.name)] })];
    });
    // hedge false: no early copy (on a busy machine loopback round trips may pass 10 ms and allow one); this test is
    // about the adapted timeout alone.
    const c = createDnsClient({ nameservers: [fake.nameserver], timeoutMs: 5000, tries: 3, hedge: false });
    t.after(async () => {
      c.close();
      await fake.stop();
    });
    for (let i = 0; i < 8; i++) await c.query(`warm${i}.example.test`, 'A');
    // From here the test owns the clock: the adapted timeout is measured in mock time, so a busy machine cannot
    // stretch it past the bound, and 2499 ms of mock time cannot reach the 5000 ms of an unadapted timer.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    drop = true;
    const lost = c.query('lost.example.test', 'A');
    await firstCopy;
    t.mock.timers.tick(2499);
    await lost;
    t.mock.timers.reset();
    assert.equal(
      fake.queries.filter((q) => q.name.toLowerCase() === 'lost.example.test').length,
      2,
      'the lost copy was sent again within 2499 ms of mock time, and answered',
    );
  },
);

test('a hedged copy counts against maxQueriesPerLocate: with the budget spent, copies stay on the first server', async () => {
  const silent = await startFakeDns(() => []);
  const ok = await startFakeDns((q) => [reply(q, { answers: [A(q.name, '192.0.2.9')] })]);
  const copiesToSilent = async (budget: number): Promise<number> => {
    silent.queries.length = 0;
    const l = createLocator({
      ...COUNTED,
      nameservers: [silent.nameserver, ok.nameserver],
      timeoutMs: 300,
      tries: 2,
      family: 'ipv4',
      maxQueriesPerLocate: budget,
    });
    const r = await l.locate('sip:pbx.example.test:5060');
    assert.deepEqual(
      r.targets.map((t) => t.address),
      ['192.0.2.9'],
    );
    l.close();
    return silent.queries.length;
  };
  assert.equal(
    await copiesToSilent(2),
    1,
    'one question (A) and one hedge fit in 2: the late copy goes to the second server',
  );
  assert.equal(
    await copiesToSilent(1),
    2,
    'no room for a hedge: both copies go to the first server, then the second is asked',
  );
  await silent.stop();
  await ok.stop();
});

test('a silent server after adaptation gets copies beyond tries while they fit in the classic schedule, never more than MAX_COPIES', async () => {
  let silent = false;
  const fake = await startFakeDns((q) => (silent ? [] : [reply(q, { answers: [A(q.name)] })]));
  // Classic schedule: 2000 + 2000 + 2000 ms; an adapted timer of tens of ms fits many copies in it.
  const c = createDnsClient({ nameservers: [fake.nameserver], timeoutMs: 2000, maxTimeoutMs: 2000, tries: 3 });
  for (let i = 0; i < 8; i++) await c.query(`warm${i}.example.test`, 'A');
  silent = true;
  const before = fake.queries.length;
  assert.equal(await codeOf(c.query('gone.example.test', 'A')), 'ETIMEOUT');
  const copies = fake.queries.length - before;
  assert.ok(copies > 3 && copies <= MAX_COPIES, `${copies} copies: more than tries (3), at most ${MAX_COPIES}`);
  c.close();
  await fake.stop();
});

test(
  'the early copy: a first copy unanswered at the hedge point (about the 95th percentile of the round trip) gets a second one on its socket, before its timeout; the copy after waits for that timeout',
  { timeout: 20_000 },
  async (t) => {
    let drop = 0;
    let arrived = (): void => undefined;
    // Warm-up answers come 30 ms late (a path with a round trip of 30 ms or more); the test question's copies are dropped.
    const fake = await startFakeDns((q) => {
      if (q.name.toLowerCase() !== 'lost.example.test')
        return [{ bytes: reply(q, { answers: [A(q.name)] }), delayMs: 30 }];
      arrived();
      return drop-- > 0 ? [] : [reply(q, { answers: [A(q.name)] })];
    });
    const c = createDnsClient({ nameservers: [fake.nameserver], timeoutMs: 5000, tries: 3 });
    t.after(async () => {
      c.close();
      await fake.stop();
    });
    for (let i = 0; i < 12; i++) await c.query(`warm${i}.example.test`, 'A');
    const { timeoutMs, hedgeMs, srttMs } = c.nameserverStates()[0]!.timer;
    assert.ok(srttMs !== null && srttMs >= 30, `a round trip of 30 ms or more was measured: ${srttMs}`);
    assert.ok(hedgeMs !== null && hedgeMs > srttMs && hedgeMs < timeoutMs, `hedge ${hedgeMs} < timeout ${timeoutMs}`);
    // From here the test owns the clock; copies are counted as they leave (the lane's send), not as they arrive.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const sends = t.mock.method(UdpLane.prototype, 'send');
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    drop = 2;
    const first = new Promise<void>((r) => (arrived = r));
    const lost = c.query('lost.example.test', 'A');
    await first;
    const seen: number[] = [sends.mock.callCount()];
    t.mock.timers.tick(hedgeMs - 1);
    await turn();
    seen.push(sends.mock.callCount());
    t.mock.timers.tick(1);
    await turn();
    seen.push(sends.mock.callCount());
    t.mock.timers.tick(timeoutMs - hedgeMs - 1);
    await turn();
    seen.push(sends.mock.callCount());
    t.mock.timers.tick(1);
    await turn();
    seen.push(sends.mock.callCount());
    assert.deepEqual(seen, [1, 1, 2, 2, 3], 'copy 2 at the hedge point, copy 3 when copy 1 times out');
    const answer = await lost;
    t.mock.timers.reset();
    assert.deepEqual(
      answer.records.map((r) => r.data),
      ['192.0.2.1'],
    );
    assert.equal(fake.queries.filter((q) => q.name.toLowerCase() === 'lost.example.test').length, 3);
    assert.deepEqual(
      new Set(fake.queries.filter((q) => q.name.toLowerCase() === 'lost.example.test').map((q) => q.id)).size,
      1,
      'all three copies on one socket with one ID',
    );
  },
);
