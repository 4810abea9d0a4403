// RFC 8305 style: once the preferred family's addresses are in, the other family gets FAMILY_WAIT_MS more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import { reply, startFakeDns } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

test('a silent AAAA does not hold the locate: the A addresses come back, the plan is not cached, the AAAA question goes on', async () => {
  const fake = await startFakeDns((q) =>
    q.type === 'A' ? [reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: '192.0.2.5' }] })] : [],
  );
  const l = createLocator({
    ...COUNTED,
    nameservers: [fake.nameserver],
    timeoutMs: 2000,
    tries: 1,
    addressLookup: 'dns',
  });
  const uri = 'sip:pbx.example.test:5060';
  const r = await l.locate(uri);
  assert.deepEqual(
    r.targets.map((t) => t.address),
    ['192.0.2.5'],
  );
  assert.equal(l.dns!.stats().timeouts, 0, 'returned before the AAAA question timed out');
  assert.equal(l.locateCached(uri), undefined, 'a plan without the late family is not cached');
  assert.ok(
    fake.queries.some((q) => q.type === 'AAAA'),
    'AAAA was asked together with A',
  );
  l.close();
  await fake.stop();
});

test('with both families answering, both are in the plan (ipv6-first puts AAAA first)', async () => {
  const fake = await startFakeDns((q) => [
    reply(q, {
      answers: [
        q.type === 'A'
          ? { type: 'A', name: q.name, ttl: 60, data: '192.0.2.6' }
          : { type: 'AAAA', name: q.name, ttl: 60, data: '2001:db8::6' },
      ],
    }),
  ]);
  const l = createLocator({ nameservers: [fake.nameserver], family: 'ipv6-first', addressLookup: 'dns' });
  const r = await l.locate('sip:pbx.example.test:5060');
  assert.deepEqual(
    r.targets.map((t) => t.address),
    ['2001:db8::6', '192.0.2.6'],
  );
  l.close();
  await fake.stop();
});
