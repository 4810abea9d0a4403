// Fixes from review: the extended RCODE (RFC 6891) and 0x20 re-probing after a server dropped the case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { createDnsClient } from '../../src/core/dns/client';
import { decodeReply } from '../../src/core/dns/codec';
import { CASE_REPROBE_MS } from '../../src/core/dns/retries';
import { reply, startFakeDns } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

function withExtendedRcode(upper: number, lower: number): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id: 7,
    flags: lower,
    questions: [{ name: 'x.example.test', type: 'A', class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: 1232,
        extendedRcode: upper,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  });
}

test("the extended RCODE keeps the header's low 4 bits: 1/0 is BADVERS, 1/3 is RCODE19, 2/5 is RCODE37", () => {
  const rcodes = [
    [1, 0],
    [1, 3],
    [2, 5],
    [0, 3],
  ].map(([u, l]) => {
    const r = decodeReply(withExtendedRcode(u!, l!));
    assert.ok(typeof r !== 'string', typeof r === 'string' ? r : 'decoded');
    return r.rcode;
  });
  assert.deepEqual(rcodes, ['BADVERS', 'RCODE19', 'RCODE37', 'NXDOMAIN']);
});

test('0x20 turned off for a server after a case mismatch is tried again once CASE_REPROBE_MS has passed', async () => {
  const fake = await startFakeDns((q) => [
    reply(q, {
      questionName: q.name.toLowerCase(),
      answers: [{ type: 'A', name: q.name.toLowerCase(), ttl: 60, data: '192.0.2.1' }],
    }),
  ]);
  let now = 1_000_000;
  const c = createDnsClient({
    ...COUNTED,
    nameservers: [fake.nameserver],
    timeoutMs: 400,
    tries: 1,
    clock: { now: () => now },
  });
  const name = (i: number): string => `abcdefghijklmnopqrstuvwxyz${i}.example.test`;
  await c.query(name(1), 'A');
  assert.equal(fake.queries.length, 2, 'mixed case timed out, then plain case answered');
  now += CASE_REPROBE_MS - 1;
  await c.query(name(2), 'A');
  assert.equal(fake.queries.length, 3, 'still off just before the re-probe time');
  assert.equal(fake.queries[2]!.name, name(2));
  now += 1;
  await c.query(name(3), 'A');
  assert.equal(fake.queries.length, 5, 're-probed with 0x20, which failed again, then plain');
  assert.notEqual(fake.queries[3]!.name, name(3), 'the re-probe goes out in mixed case');
  assert.equal(fake.queries[4]!.name, name(3));
  c.close();
  await fake.stop();
});
