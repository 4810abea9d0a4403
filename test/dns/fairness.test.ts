// Fair and cancellable work: the in-flight limiter's bounds, and a flood under one silent domain against the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsClient } from '../../src/core/dns/client';
import { InFlightLimiter } from '../../src/core/dns/limiter';
import { fairShareKey } from '../../src/core/dns/names';
import { reply, startFakeDns } from '../servers/fake-dns';
import { codeOf } from './helpers';
import { until } from '../support/wait';
import { createLocator } from '../../src/core/locator';
import { setMaxListeners } from 'node:events';
import { COUNTED } from '../support/counting';

/** A promise with its resolve function, to hold a slot until the test lets go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

test('fair-share key: the registrable domain, three labels under co.uk-like suffixes, service labels dropped', () => {
  assert.deepEqual(
    [
      'a.b.silent.test',
      'x.silent.test',
      '_sip._udp.pbx.example.com',
      'sip.example.co.uk',
      'a.foo.de',
      'test',
      'example.com',
    ].map(fairShareKey),
    ['silent.test', 'silent.test', 'example.com', 'example.co.uk', 'foo.de', 'test', 'example.com'],
  );
});

test('the queue holds exactly maxQueued waiters: one more of the same domain is refused with EOVERLOAD', async () => {
  const l = new InFlightLimiter({ maxInFlight: 1, maxPerDomain: 1, maxQueued: 3, maxWaitMs: 60_000 });
  const hold = gate();
  const running = l.run('a.test', undefined, () => hold.promise);
  const queued = [1, 2, 3].map(() => l.run('a.test', undefined, async () => 'ran'));
  assert.equal(l.waiting, 3);
  assert.equal(await codeOf(l.run('a.test', undefined, async () => 'ran')), 'EOVERLOAD');
  assert.equal(l.waiting, 3);
  hold.open();
  await running;
  assert.deepEqual(await Promise.all(queued), ['ran', 'ran', 'ran']);
  assert.equal(l.waiting, 0);
  assert.equal(l.inFlight, 0);
});

test('a full queue makes room for another domain by dropping the newest waiter of the domain with the most', async () => {
  const l = new InFlightLimiter({ maxInFlight: 1, maxPerDomain: 1, maxQueued: 3, maxWaitMs: 60_000 });
  const hold = gate();
  const running = l.run('flood.test', undefined, () => hold.promise);
  const flood = [1, 2, 3].map((i) => codeOf(l.run('flood.test', undefined, async () => `f${i}`)));
  const other = l.run('other.test', undefined, async () => 'other');
  assert.equal(l.waiting, 3);
  hold.open();
  await running;
  assert.equal(await other, 'other');
  assert.deepEqual(await Promise.all(flood), ['resolved', 'resolved', 'EOVERLOAD']);
});

test('one domain holds at most maxPerDomain slots; others start at once; waiters are served round robin', async () => {
  const l = new InFlightLimiter({ maxInFlight: 4, maxPerDomain: 2, maxQueued: 100, maxWaitMs: 60_000 });
  const holds = [gate(), gate()];
  const order: string[] = [];
  const a = [l.run('a.test', undefined, () => holds[0]!.promise), l.run('a.test', undefined, () => holds[1]!.promise)];
  const waitingA = [1, 2].map((i) => l.run('a.test', undefined, async () => void order.push(`a${i}`)));
  assert.equal(l.waiting, 2, 'a third and fourth slot for a.test wait although two slots are free');
  await l.run('b.test', undefined, async () => void order.push('b'));
  assert.deepEqual(order, ['b'], 'b.test did not wait behind a.test');
  holds[0]!.open();
  holds[1]!.open();
  await Promise.all([...a, ...waitingA]);
  assert.deepEqual(order, ['b', 'a1', 'a2']);
});

test('a waiter leaves the queue when its signal aborts (ECANCELLED) or after maxWaitMs (ETIMEOUT)', async () => {
  const l = new InFlightLimiter({ maxInFlight: 1, maxPerDomain: 1, maxQueued: 10, maxWaitMs: 50 });
  const hold = gate();
  const running = l.run('a.test', undefined, () => hold.promise);
  const abort = new AbortController();
  const cancelled = codeOf(l.run('a.test', abort.signal, async () => 'ran'));
  const late = codeOf(l.run('b.test', undefined, async () => 'ran'));
  abort.abort();
  assert.equal(await cancelled, 'ECANCELLED');
  assert.equal(await late, 'ETIMEOUT');
  assert.equal(l.waiting, 0);
  hold.open();
  await running;
});

test("a flood under one silent domain: unrelated lookups start at once; aborted callers cancel the flood's network work", async () => {
  const fake = await startFakeDns((q) =>
    q.name.toLowerCase().endsWith('silent.test')
      ? []
      : [reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: '192.0.2.1' }] })],
  );
  const c = createDnsClient({
    ...COUNTED,
    nameservers: [fake.nameserver],
    timeoutMs: 5000,
    tries: 3,
    maxInFlight: 16,
    dns0x20: false,
  });
  const abort = new AbortController();
  // One caller's signal for 40 queries: each waiting query listens on it until it settles, 40 listeners by design.
  setMaxListeners(40, abort.signal);
  const flood = Array.from({ length: 40 }, (_, i) =>
    codeOf(c.query(`n${i}.silent.test`, 'A', { signal: abort.signal })),
  );
  assert.deepEqual(
    [c.stats().inFlight, c.stats().queued],
    [4, 36],
    'the flood holds its fair share (16 / 4) and waits for the rest',
  );
  const unrelated = await c.query('www.example.test', 'A');
  assert.deepEqual(
    unrelated.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.equal(c.stats().queued, 36, 'answered while the flood still waited');
  abort.abort();
  assert.deepEqual(new Set(await Promise.all(flood)), new Set(['ECANCELLED']));
  assert.deepEqual(
    [c.stats().inFlight, c.stats().queued],
    [0, 0],
    'sockets closed and queue emptied at once, not after the 5 s timeouts',
  );
  const silentQueries = fake.queries.filter((q) => q.name.endsWith('silent.test')).length;
  assert.ok(silentQueries <= 4, `only the four admitted attempts reached the server, saw ${silentQueries}`);
  c.close();
  await fake.stop();
});

test('a caller that gives up does not cancel a query another caller still waits for', async () => {
  const fake = await startFakeDns((q) => [
    { bytes: reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: '192.0.2.7' }] }), delayMs: 60 },
  ]);
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 2000, tries: 1 });
  const abort = new AbortController();
  const leaving = codeOf(c.query('shared.example.test', 'A', { signal: abort.signal }));
  const staying = c.query('shared.example.test', 'A', { signal: new AbortController().signal });
  abort.abort();
  assert.equal(await leaving, 'ECANCELLED');
  assert.deepEqual(
    (await staying).records.map((r) => r.data),
    ['192.0.2.7'],
  );
  assert.equal(fake.queries.length, 1);
  c.close();
  await fake.stop();
});

test("the locator's resolveTimeoutMs cancels the DNS work of a plan: sockets close at the deadline, no later rounds are sent", async (t) => {
  const silent = await startFakeDns(() => []);
  t.after(() => silent.stop());
  // A 1 s deadline (not less): on a busy machine the first round must still go out before it.
  const l = createLocator({
    ...COUNTED,
    nameservers: [silent.nameserver],
    timeoutMs: 5000,
    tries: 3,
    resolveTimeoutMs: 1000,
  });
  t.after(() => l.close());
  assert.equal(await codeOf(l.locate('sip:example.test')), 'ETIMEOUT');
  await until(() => l.dns!.stats().inFlight === 0, 'every socket of the plan is closed');
  await until(() => silent.queries.length >= l.dns!.stats().udpAttempts, 'the fake has read every question sent');
  const sent = silent.queries.length;
  assert.ok(
    sent >= 1 && sent <= 4,
    `only the first round went out (NAPTR and the SRV queries sent with it), saw ${sent}`,
  );
  assert.equal(l.dns!.stats().timeouts, 0, 'cancelled, not timed out');
});
