// Nameserver faults: the resolution gets through the healthy server within the attempt budget, or fails with
// the right code within it. Each time bound is measured and asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as dnsPacket from 'dns-packet';
import { createDnsClient } from '../../src/core/dns/client';
import { createLocator } from '../../src/core/locator';
import { SipLocateError } from '../../src/core/errors';
import { deadNameserver, reply, startFakeDns, type FakeDnsServer, type FakeQuery } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

const A = (name: string): dnsPacket.Answer => ({ type: 'A', name, ttl: 300, data: '192.0.2.1' });
// 1 s, not less: a fake that answers at once must be in time even on a busy machine (a late answer is a timeout).
const TIMEOUT = 1000;

async function faulty(): Promise<Record<string, FakeDnsServer | string>> {
  return {
    silent: await startFakeDns(() => []),
    refused: await deadNameserver(),
    servfail: await startFakeDns((q) => [reply(q, { rcode: 2 })]),
    refusing: await startFakeDns((q) => [reply(q, { rcode: 5 })]),
    truncCut: await startFakeDns((q: FakeQuery) =>
      q.transport === 'udp'
        ? [reply(q, { truncated: true })]
        : [{ bytes: reply(q, { answers: [A(q.name)] }), partial: true }],
    ),
    slow: await startFakeDns((q) => [{ bytes: reply(q, { answers: [A(q.name)] }), delayMs: TIMEOUT * 3 }]),
    healthy: await startFakeDns((q) => [reply(q, { answers: [A(q.name)] })]),
  };
}
const ns = (s: FakeDnsServer | string): string => (typeof s === 'string' ? s : s.nameserver);
async function stopAll(all: Record<string, FakeDnsServer | string>): Promise<void> {
  for (const s of Object.values(all)) if (typeof s !== 'string') await s.stop();
}

test('one healthy nameserver behind silent, refused, SERVFAIL, REFUSED, truncating-then-cut and slow ones', async (t) => {
  const s = await faulty();
  t.after(() => stopAll(s));
  const order = ['silent', 'refused', 'servfail', 'refusing', 'truncCut', 'slow', 'healthy'];
  const c = createDnsClient({ ...COUNTED, nameservers: order.map((k) => ns(s[k]!)), timeoutMs: TIMEOUT, tries: 2 });
  t.after(() => c.close());
  const t0 = performance.now();
  const a = await c.query('www.example.test', 'A');
  const ms = performance.now() - t0;
  assert.equal(a.nameserver, ns(s.healthy!));
  // Two timeouts (silent, slow) are the whole cost; the others fail at once (no timeout counted for them).
  assert.ok(ms >= 2 * TIMEOUT - 5, `took ${ms.toFixed(0)} ms, budget ${2 * TIMEOUT} ms`);
  assert.equal(c.stats().timeouts, 2);
  c.close();
});

test('all nameservers down: the right code within nameservers x tries x timeout', async (t) => {
  const s = await faulty();
  t.after(() => stopAll(s));
  // [nameservers, code, lower bound in ms, attempts that time out]: the count of timeouts bounds the cost from above.
  const cases: Array<[string[], string, number, number]> = [
    // One server, two copies on one socket; the second copy's timeout is doubled.
    [['silent'], 'ETIMEOUT', TIMEOUT + 2 * TIMEOUT, 2],
    [['refused'], 'ECONNREFUSED', 0, 0],
    [['servfail', 'servfail'], 'ESERVFAIL', 0, 0],
    [['refusing'], 'EREFUSED', 0, 0],
    [['truncCut'], 'EBADRESP', 0, 0],
  ];
  for (const [names, code, budget, timeouts] of cases) {
    const c = createDnsClient({ ...COUNTED, nameservers: names.map((k) => ns(s[k]!)), timeoutMs: TIMEOUT, tries: 2 });
    t.after(() => c.close());
    const t0 = performance.now();
    const err = await c.query('www.example.test', 'A').then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    assert.ok(err instanceof SipLocateError, names.join(','));
    assert.equal(err.code, code, names.join(','));
    assert.ok(ms >= budget - 5, `${names.join(',')}: ${ms.toFixed(0)} ms for a budget of ${budget} ms`);
    assert.equal(c.stats().timeouts, timeouts, `${names.join(',')}: attempts that timed out`);
    assert.match(err.message, /127\.0\.0\.1:\d+/, 'the message names the nameserver');
    c.close();
  }
});

test('the locator bounds a whole resolution with resolveTimeoutMs, whatever the per-attempt timeouts', async (t) => {
  const silent = await startFakeDns(() => []);
  t.after(() => silent.stop());
  const l = createLocator({
    ...COUNTED,
    nameservers: [silent.nameserver],
    timeoutMs: 2000,
    tries: 3,
    resolveTimeoutMs: 300,
  });
  t.after(() => l.close());
  const t0 = performance.now();
  const err = await l.locate('sip:example.test').then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  assert.ok(err instanceof SipLocateError);
  assert.equal(err.code, 'ETIMEOUT');
  assert.ok(ms >= 295, `${ms.toFixed(0)} ms`);
  assert.equal(l.dns!.stats().timeouts, 0, 'cut by resolveTimeoutMs, not by the 2 s attempt timeout');
  l.close();
});
