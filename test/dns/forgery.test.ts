// Off-path forgery against the real client: none may change a result or enter the cache, and each is counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type * as dnsPacket from 'dns-packet';
import { createDnsClient } from '../../src/core/dns/client';
import { reply, startFakeDns, type FakeQuery } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

const A = (name: string, data: string): dnsPacket.Answer => ({ type: 'A', name, ttl: 300, data });

test('replies from another port are dropped by the kernel (connected socket): result unchanged, nothing counted', async () => {
  const forger = createSocket('udp4');
  await new Promise<void>((r) => forger.bind(0, '127.0.0.1', () => r()));
  let sprayed = 0;
  const fake = await startFakeDns((q: FakeQuery) => {
    // The forger does not know the client's port: it sprays the ephemeral range with perfect replies
    // before the real answer leaves.
    const forged = reply(q, { answers: [A(q.name, '203.0.113.66')] });
    for (let p = 32768; p < 61000; p += 7, sprayed++) forger.send(forged, p, '127.0.0.1');
    return [{ bytes: reply(q, { answers: [A(q.name, '192.0.2.1')] }), delayMs: 40 }];
  });
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 4000, tries: 1 }); // generous: the outcome is asserted, not the time, and a parallel test may hog the CPU;
  const a = await c.query('www.example.test', 'A');
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.ok(sprayed > 4000);
  assert.equal(c.stats().mismatched, 0, 'the kernel dropped them before the client saw them');
  assert.equal(c.stats().spoofSuspected, 0);
  forger.close();
  c.close();
  await fake.stop();
});

test('a flood of guessed IDs from the server address races the real answer: the query moves to TCP and the answer is right', async () => {
  const fake = await startFakeDns((q: FakeQuery) => {
    if (q.transport === 'tcp') return [reply(q, { answers: [A(q.name, '192.0.2.1')] })];
    const flood = Array.from({ length: 300 }, (_, i) =>
      reply(q, { id: (q.id + 1 + i) & 0xffff, answers: [A(q.name, '203.0.113.66')] }),
    );
    return [...flood, { bytes: reply(q, { answers: [A(q.name, '192.0.2.1')] }), delayMs: 20 }];
  });
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 4000, tries: 1 }); // generous: the outcome is asserted, not the time, and a parallel test may hog the CPU;
  const a = await c.query('www.example.test', 'A');
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.equal(c.stats().spoofSuspected, 1, 'the first wrong ID ends the UDP attempt');
  assert.equal(c.stats().tcpAttempts, 1);
  const cached = c.peek('www.example.test', 'A');
  assert.ok(cached && !(cached instanceof Error));
  assert.deepEqual(
    cached.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  c.close();
  await fake.stop();
});

test('the right ID with another question or another case never counts: dropped, counted, real answer used', async () => {
  const fake = await startFakeDns((q: FakeQuery) => [
    reply(q, { questionName: q.name.toUpperCase(), answers: [A(q.name, '203.0.113.1')] }),
    reply(q, { questionName: 'www.bank.test', answers: [A('www.bank.test', '203.0.113.2')] }),
    reply(q, { questionType: 'AAAA', answers: [{ type: 'AAAA', name: q.name, ttl: 300, data: '2001:db8::66' }] }),
    { bytes: reply(q, { answers: [A(q.name, '192.0.2.1')] }), delayMs: 20 },
  ]);
  const c = createDnsClient({ ...COUNTED, nameservers: [fake.nameserver], timeoutMs: 4000, tries: 1 }); // generous: the outcome is asserted, not the time, and a parallel test may hog the CPU;
  const a = await c.query('wwwexample.example.test', 'A');
  assert.deepEqual(
    a.records.map((r) => r.data),
    ['192.0.2.1'],
  );
  assert.equal(c.stats().mismatched, 3);
  assert.equal(c.peek('www.bank.test', 'A'), undefined);
  assert.equal(c.peek('wwwexample.example.test', 'AAAA'), undefined);
  c.close();
  await fake.stop();
});

test('out-of-bailiwick and unreferenced additional records cannot plant an address for another name', async () => {
  const fake = await startFakeDns((q: FakeQuery) => {
    if (q.type === 'NAPTR') {
      return [
        reply(q, {
          answers: [
            {
              type: 'NAPTR',
              name: q.name,
              ttl: 300,
              data: {
                order: 1,
                preference: 1,
                flags: 's',
                services: 'SIP+D2U',
                regexp: '',
                replacement: '_sip._udp.victim.test',
              },
            },
          ],
          additionals: [
            {
              type: 'SRV',
              name: '_sip._udp.victim.test',
              ttl: 300,
              data: { priority: 0, weight: 0, port: 5060, target: 'evil.attacker.test' },
            },
            A('evil.attacker.test', '203.0.113.66'),
            A('sip.victim.test', '203.0.113.67'),
          ],
        }),
      ];
    }
    return [reply(q, { rcode: 3 })];
  });
  const c = createDnsClient({ nameservers: [fake.nameserver] });
  await c.query('attacker.test', 'NAPTR');
  assert.equal(c.peek('_sip._udp.victim.test', 'SRV'), undefined, 'SRV outside attacker.test is not trusted');
  assert.equal(c.peek('evil.attacker.test', 'A'), undefined);
  assert.equal(c.peek('sip.victim.test', 'A'), undefined);
  assert.equal(c.stats().additionalAccepted, 0);
  assert.equal(c.stats().additionalRejected, 3);
  c.close();
  await fake.stop();
});
