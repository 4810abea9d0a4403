// Nameserver health: a silent first nameserver in front of a real one (NSD), and a fake that comes back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsClient } from '../../src/core/dns/client';
import { SERVER_RETRY_BASE_MS } from '../../src/core/dns/health';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { reply, startFakeDns, type FakeDnsServer } from '../servers/fake-dns';
import { until } from '../support/wait';
import { COUNTED } from '../support/counting';

describe('a silent first nameserver in front of NSD', { skip: skipUnless('nsd') }, () => {
  let nsd: RunningDnsServer;
  let silent: FakeDnsServer;
  before(async () => {
    nsd = await startDnsServer('nsd');
    silent = await startFakeDns(() => []);
  });
  after(async () => {
    await silent?.stop();
    await nsd?.stop();
  });

  test('after the first miss, cold lookups go to NSD without asking the dead one until its retry time; then one background probe', async () => {
    silent.queries.length = 0;
    let now = 1_000_000;
    const c = createDnsClient({
      ...COUNTED,
      nameservers: [silent.nameserver, nsd.nameserver],
      timeoutMs: 200,
      tries: 2,
      clock: { now: () => now },
      random: () => 0,
    });
    const first = await c.query('example.test', 'NAPTR');
    assert.equal(first.nameserver, nsd.nameserver);
    assert.equal(silent.queries.length, 1);
    assert.deepEqual(
      c.nameserverStates().map(({ timer, ...health }) => ({ ...health, samples: timer.samples })),
      [
        {
          address: silent.nameserver,
          state: 'failing',
          consecutiveFailures: 1,
          retryAt: now + SERVER_RETRY_BASE_MS,
          lastError: 'ETIMEOUT',
          samples: 0,
        },
        {
          address: nsd.nameserver,
          state: 'healthy',
          consecutiveFailures: 0,
          retryAt: null,
          lastError: null,
          samples: 1,
        },
      ],
    );
    for (const name of ['_sip._udp.example.test', '_sip._tcp.example.test', '_sips._tcp.example.test']) {
      c.clearCache();
      const a = await c.query(name, 'SRV');
      assert.equal(a.nameserver, nsd.nameserver);
    }
    assert.equal(silent.queries.length, 1, 'the dead server is not asked before its retry time');
    now += SERVER_RETRY_BASE_MS;
    c.clearCache();
    const probed = await c.query('example.test', 'NAPTR');
    assert.equal(probed.nameserver, nsd.nameserver, 'the probe runs beside the healthy server, not in front of it');
    await until(() => c.nameserverStates()[0]!.consecutiveFailures === 2);
    assert.equal(silent.queries.length, 2, 'exactly one probe');
    assert.equal(c.nameserverStates()[0]!.retryAt, now + 2 * SERVER_RETRY_BASE_MS, 'the backoff doubles');
    c.close();
  });
});

test('a failing server that answers a probe is healthy again and first in line', async () => {
  let up = false;
  const flaky = await startFakeDns((q) =>
    up ? [reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: '192.0.2.1' }] })] : [],
  );
  const other = await startFakeDns((q) => [
    reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: '192.0.2.2' }] }),
  ]);
  let now = 5_000_000;
  const c = createDnsClient({
    ...COUNTED,
    nameservers: [flaky.nameserver, other.nameserver],
    timeoutMs: 150,
    tries: 1,
    dns0x20: false,
    clock: { now: () => now },
    random: () => 0.5,
  });
  assert.equal((await c.query('a.example.test', 'A')).nameserver, other.nameserver);
  const retryAt = c.nameserverStates()[0]!.retryAt!;
  assert.equal(retryAt, now + SERVER_RETRY_BASE_MS * 0.875, 'a quarter of jitter at most');
  up = true;
  now = retryAt;
  assert.equal((await c.query('b.example.test', 'A')).nameserver, other.nameserver);
  await until(() => c.nameserverStates()[0]!.state === 'healthy');
  assert.equal((await c.query('c.example.test', 'A')).nameserver, flaky.nameserver);
  c.close();
  await flaky.stop();
  await other.stop();
});

test('SERVFAIL and REFUSED count as failures; all servers failing are still asked, fewest failures first', async () => {
  const servfail = await startFakeDns((q) => [reply(q, { rcode: 2 })]);
  const refusing = await startFakeDns((q) => [reply(q, { rcode: 5 })]);
  const c = createDnsClient({
    ...COUNTED,
    nameservers: [servfail.nameserver, refusing.nameserver],
    timeoutMs: 500,
    tries: 2,
  });
  await assert.rejects(c.query('x.example.test', 'A'), { code: 'EREFUSED' });
  assert.deepEqual(
    c.nameserverStates().map((s) => [s.state, s.consecutiveFailures, s.lastError]),
    [
      ['failing', 2, 'ESERVFAIL'],
      ['failing', 2, 'EREFUSED'],
    ],
  );
  await assert.rejects(c.query('y.example.test', 'A'));
  assert.equal(servfail.queries.length + refusing.queries.length, 8, 'nameservers x tries, none skipped');
  c.close();
  await servfail.stop();
  await refusing.stop();
});
