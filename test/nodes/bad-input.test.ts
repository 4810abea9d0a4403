// Property-based bad input to the nodes: every message leaves on exactly one output with a clear msg.sip.error,
// the node keeps working, and the next good message is located.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type * as dnsPacket from 'dns-packet';
import { collector, helper, NODES, type Flow } from './helper';
import { reply, soa, startFakeDns, type FakeDnsServer } from '../servers/fake-dns';

describe('bad input to the nodes (fast-check)', () => {
  let dns: FakeDnsServer;
  before(async () => {
    dns = await startFakeDns((q) =>
      q.name.toLowerCase().endsWith('good.test')
        ? [
            reply(
              q,
              q.type === 'A'
                ? { answers: [{ type: 'A', name: q.name, ttl: 60, data: '127.0.0.7' }] }
                : { authorities: [soa('good.test')] },
            ),
          ]
        : [reply(q, { rcode: 3, authorities: [soa('test')] })],
    );
  });
  after(async () => dns?.stop());
  afterEach(async () => helper.unload());

  const flow = (): Flow => [
    { id: 'r1', type: 'sip-resolver', nameservers: dns.nameserver, transports: 'udp,tcp', timeout: 300, tries: 1 },
    { id: 'loc', type: 'sip-locate', resolver: 'r1', uri: 'payload', uriType: 'msg', wires: [['ok'], ['err']] },
    { id: 'fail', type: 'sip-target-failed', resolver: 'r1', wires: [['next'], ['gone']] },
    { id: 'ok', type: 'helper' },
    { id: 'err', type: 'helper' },
    { id: 'next', type: 'helper' },
    { id: 'gone', type: 'helper' },
  ];

  const uriLike = fc.oneof(
    fc.anything(),
    fc.string({ maxLength: 200 }),
    fc.string({ maxLength: 300 }).map((s) => `sip:${s}`),
    fc.string({ maxLength: 60 }).map((s) => `<sips:${s}@${s}>;${s}`),
    fc.constantFrom(
      'sip:',
      'sip:[::1',
      'sip:a..b',
      'sip:x:99999',
      'sip:' + 'a'.repeat(5000),
      'sip:%00',
      'sip:\u0000host',
      'sip:host;transport=' + 'x'.repeat(100),
      'SIP:UPPER.test;TRANSPORT=QUIC',
    ),
  );

  test('sip-locate: arbitrary payloads, 300 runs; the next good URI is located', async () => {
    await helper.load(NODES, flow());
    const out = collector(['ok', 'err']);
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(uriLike, async (payload) => {
        helper.getNode('loc').receive({ payload });
        sent++;
        await out.until(sent);
      }),
      { numRuns: 300, seed: 42 },
    );
    assert.equal(out.total(), sent);
    assert.ok(
      [...out.seen.values()].every((n) => n === 1),
      'no message left twice',
    );
    for (const m of out.byOutput.err as Array<{ sip: { error: { code: string; message: string } } }>) {
      assert.match(m.sip.error.code, /^E[A-Z]+$/);
      assert.ok(m.sip.error.message.length > 10);
    }
    helper.getNode('loc').receive({ payload: 'sip:alice@host.good.test' });
    await out.until(sent + 1);
    const last = out.byOutput.ok!.at(-1) as { sip: { target: { address: string } } };
    assert.equal(last.sip.target.address, '127.0.0.7');
  });

  test('sip-target-failed: arbitrary msg.sip (including one that lost its targets), 300 runs', async () => {
    await helper.load(NODES, flow());
    const out = collector(['next', 'gone']);
    const target = fc.record(
      {
        transport: fc.oneof(fc.constantFrom('udp', 'tcp', 'tls'), fc.string()),
        address: fc.oneof(fc.constantFrom('127.0.0.1', '::1'), fc.string()),
        port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.anything()),
      },
      { requiredKeys: [] },
    );
    const sip = fc.oneof(
      fc.anything(),
      fc.record(
        {
          target,
          targets: fc.oneof(fc.array(target, { maxLength: 5 }), fc.anything()),
          destination: fc.oneof(fc.string(), fc.anything()),
          tried: fc.anything(),
          attempt: fc.anything(),
          failure: fc.oneof(fc.constantFrom('transport', 'timeout', '503', 'bogus'), fc.anything()),
          retryAfter: fc.anything(),
          ok: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(sip, async (s) => {
        helper.getNode('fail').receive({ sip: s });
        sent++;
        await out.until(sent);
      }),
      { numRuns: 300, seed: 43 },
    );
    assert.equal(out.total(), sent);
    assert.ok([...out.seen.values()].every((n) => n === 1));
    for (const m of out.byOutput.gone as Array<{ sip: { error: { code: string } } }>)
      assert.ok(['EINVALIDMSG', 'EEXHAUSTED'].includes(m.sip.error.code), m.sip.error.code);
  });
});
