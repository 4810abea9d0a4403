// Serve-stale (RFC 8767): every nameserver dead after a first answer; stale data served, then fresh again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsClient, RECHECK_MS, STALE_TTL } from '../../src/core/dns/client';
import { createLocator } from '../../src/core/locator';
import { reply, soa, startFakeDns, type FakeQuery } from '../servers/fake-dns';
import { codeOf } from './helpers';
import { until } from '../support/wait';
import { COUNTED } from '../support/counting';

type Mode = 'up' | 'silent' | 'servfail' | 'nxdomain';

/** A fake whose behaviour the test switches: answering A with TTL 1, silent, SERVFAIL or NXDOMAIN. */
async function switchable(): Promise<{
  mode: Mode;
  server: Awaited<ReturnType<typeof startFakeDns>>;
  address: string;
}> {
  const state = {
    mode: 'up' as Mode,
    server: undefined as unknown as Awaited<ReturnType<typeof startFakeDns>>,
    address: '192.0.2.1',
  };
  state.server = await startFakeDns((q: FakeQuery) => {
    if (state.mode === 'silent') return [];
    if (state.mode === 'servfail') return [reply(q, { rcode: 2 })];
    if (state.mode === 'nxdomain') return [reply(q, { rcode: 3, authorities: [soa('example.test', 1, 1)] })];
    return [
      reply(
        q,
        q.type === 'A'
          ? { answers: [{ type: 'A', name: q.name, ttl: 1, data: state.address }] }
          : { authorities: [soa('example.test', 1, 1)] },
      ),
    ];
  });
  return state;
}

test('silent nameservers: expired data is served stale after staleAnswerMs with TTL 30; a failed refresh means no new question for 30 s; fresh again once they answer', async () => {
  const fake = await switchable();
  let now = 10_000_000;
  const c = createDnsClient({
    ...COUNTED,
    nameservers: [fake.server.nameserver],
    timeoutMs: 200,
    tries: 1,
    staleAnswerMs: 50,
    dns0x20: false,
    clock: { now: () => now },
  });
  assert.equal((await c.query('pbx.example.test', 'A')).stale, undefined);
  fake.mode = 'silent';
  now += 2000;
  const stale = await c.query('pbx.example.test', 'A');
  assert.deepEqual(
    [stale.stale, stale.ttl, stale.records.map((r) => [r.data, r.ttl])],
    [true, STALE_TTL, [['192.0.2.1', STALE_TTL]]],
  );
  await until(() => c.stats().timeouts >= 1 && c.stats().inFlight === 0);
  const asked = fake.server.queries.length;
  const again = await c.query('pbx.example.test', 'A');
  assert.equal(again.stale, true);
  assert.equal(fake.server.queries.length, asked, 'within the recheck time no question is sent');
  fake.mode = 'up';
  fake.address = '192.0.2.2';
  now += RECHECK_MS;
  const fresh = await c.query('pbx.example.test', 'A');
  assert.deepEqual([fresh.stale, fresh.records.map((r) => r.data)], [undefined, ['192.0.2.2']]);
  assert.equal(c.stats().staleAnswers, 2);
  c.close();
  await fake.server.stop();
});

test('SERVFAIL from every nameserver serves stale at once; NXDOMAIN is an answer and does not; off with staleSeconds 0 or past the window', async () => {
  const fake = await switchable();
  let now = 20_000_000;
  const c = createDnsClient({
    nameservers: [fake.server.nameserver],
    timeoutMs: 500,
    tries: 1,
    staleAnswerMs: 60_000,
    staleSeconds: 100,
    clock: { now: () => now },
  });
  const off = createDnsClient({
    nameservers: [fake.server.nameserver],
    timeoutMs: 500,
    tries: 1,
    staleSeconds: 0,
    clock: { now: () => now },
  });
  await c.query('a.example.test', 'A');
  await off.query('a.example.test', 'A');
  fake.mode = 'servfail';
  now += 2000;
  assert.equal((await c.query('a.example.test', 'A')).stale, true, 'served on failure, long before staleAnswerMs');
  assert.equal(await codeOf(off.query('a.example.test', 'A')), 'ESERVFAIL');
  await c.query('b.example.test', 'A').catch(() => undefined);
  fake.mode = 'up';
  await c.query('b.example.test', 'A');
  fake.mode = 'nxdomain';
  now += 2000;
  assert.equal(await codeOf(c.query('b.example.test', 'A')), 'ENOTFOUND');
  fake.mode = 'servfail';
  now += 101_000;
  assert.equal(await codeOf(c.query('a.example.test', 'A')), 'ESERVFAIL', 'past staleSeconds the data is gone');
  c.close();
  off.close();
  await fake.server.stop();
});

test('locate() during an outage: LocateResult.stale is true and the trace says [stale]; false again when DNS is back', async () => {
  const fake = await switchable();
  let now = 30_000_000;
  const l = createLocator({
    nameservers: [fake.server.nameserver],
    family: 'ipv4',
    timeoutMs: 200,
    tries: 1,
    staleAnswerMs: 50,
    clock: { now: () => now },
  });
  const first = await l.locate('sip:pbx.example.test:5060');
  assert.equal(first.stale, false);
  fake.mode = 'silent';
  now += 2000;
  const during = await l.locate('sip:pbx.example.test:5060', { trace: true });
  assert.equal(during.stale, true);
  assert.deepEqual(
    during.targets.map((t) => t.address),
    ['192.0.2.1'],
  );
  assert.deepEqual(
    during.trace!.children.filter((n) => n.kind === 'address').map((n) => n.outcome),
    ['stale'],
  );
  // A traced locate (Try it) leaves the plan cache alone; a real one fills it.
  assert.equal((await l.locate('sip:pbx.example.test:5060')).stale, true);
  assert.equal(
    l.locateCached('sip:pbx.example.test:5060')?.stale,
    true,
    'the plan built from stale data is reused (TTL 30) and still says so',
  );
  await until(() => l.dns!.stats().timeouts >= 1 && l.dns!.stats().inFlight === 0);
  fake.mode = 'up';
  now += RECHECK_MS + 1000;
  assert.equal((await l.locate('sip:pbx.example.test:5060')).stale, false);
  l.close();
  await fake.server.stop();
});
