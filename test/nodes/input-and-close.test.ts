// sip-options and sip-locate in a Node-RED runtime (node-red-node-test-helper), against a SIP responder on loopback
// and a silent fake nameserver: crafted targets (property-based) never reach the wire unchecked and every message
// leaves on exactly one output; closing a node cancels its probes and locates in flight and leaves nothing behind.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { collector, helper, NODES, type Flow } from './helper';
import { startFakeDns } from '../servers/fake-dns';
import { until } from '../support/wait';
import { openHandles, useResponders } from '../probe/sip-responder';

const ALL = [...NODES, require('../../src/nodes/sip-options')];
/** The header lines the prober writes, in order. */
const HEADERS = [
  'via',
  'max-forwards',
  'from',
  'to',
  'call-id',
  'cseq',
  'contact',
  'accept',
  'user-agent',
  'content-length',
];

/** Counts a node's own send() and message completions (done()), which would go on after its wires are gone. */
function countCalls(id: string): { send: number; _complete: number } {
  const calls = { send: 0, _complete: 0 };
  const node: object = helper.getNode(id);
  for (const name of ['send', '_complete'] as const) {
    const original: unknown = Reflect.get(node, name);
    assert.equal(typeof original, 'function');
    Reflect.set(node, name, function (this: object, ...args: unknown[]): unknown {
      calls[name]++;
      return Reflect.apply(original as (...a: unknown[]) => unknown, this, args);
    });
  }
  return calls;
}

describe('sip-options and sip-locate: crafted input and close', () => {
  const servers = useResponders();
  afterEach(async () => helper.unload());

  const flow = (extra: Record<string, unknown> = {}): Flow => [
    { id: 'r1', type: 'sip-resolver', nameservers: '127.0.0.1:9', transports: 'udp,tcp' },
    { id: 'opt', type: 'sip-options', resolver: 'r1', timeout: 3000, t1: 100, ...extra, wires: [['ok'], ['err']] },
    { id: 'ok', type: 'helper' },
    { id: 'err', type: 'helper' },
  ];
  const sipFor = (target: unknown): Record<string, unknown> => ({
    uri: 'sip:x.test',
    destination: 'sip:x.test',
    target,
    targets: [target],
    tried: [],
    attempt: 1,
    sticky: false,
  });

  test("crafted msg.sip.target (300 runs): one output each; every request on the wire has exactly the prober's headers", async () => {
    await helper.load(ALL, flow());
    const out = collector(['ok', 'err']);
    const host = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 20 }).map((s) => `a.test\r\n${s}`),
      fc.constantFrom(
        'a.test\r\nX-Injected: 1',
        'a.test\nVia: SIP/2.0/UDP evil',
        'a\u0000b',
        'a.test\u007f',
        'a b',
        '[::1]',
        'ok.example.test',
        '127.0.0.1',
        '::1',
        undefined,
        null,
      ),
      fc.anything(),
    );
    const target = fc.oneof(
      {
        weight: 4,
        arbitrary: host.map((h) => ({
          transport: 'udp',
          address: '127.0.0.1',
          port: servers.answering.udpPort,
          family: 4,
          host: h,
          source: 'numeric',
          ttl: 0,
        })),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          transport: fc.oneof(fc.constant('udp'), fc.anything()),
          address: fc.oneof(fc.constant('127.0.0.1'), fc.anything()),
          port: fc.oneof(fc.constant(servers.answering.udpPort), fc.anything()),
          host,
        }),
      },
      { weight: 1, arbitrary: fc.anything() },
    );
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(target, async (t) => {
        helper.getNode('opt').receive({ sip: sipFor(t) });
        sent++;
        await out.until(sent);
      }),
      { numRuns: 300, seed: 13 },
    );
    assert.equal(out.total(), sent);
    assert.ok(
      [...out.seen.values()].every((n) => n === 1),
      'no message left twice',
    );
    assert.ok(
      out.byOutput.ok!.length > 20 && out.byOutput.err!.length > 20,
      `${out.byOutput.ok!.length} answered, ${out.byOutput.err!.length} refused`,
    );
    for (const m of out.byOutput.err as Array<{ sip: { error: { code: string } } }>)
      assert.equal(m.sip.error.code, 'EINVALIDMSG');
    assert.equal(
      servers.answering.requests.length,
      out.byOutput.ok!.length,
      'one request per answered message, none for refused ones',
    );
    for (const request of servers.answering.requests) {
      const lines = request.split('\r\n');
      assert.match(lines[0]!, /^OPTIONS sip:[!-~]+ SIP\/2\.0$/);
      assert.deepEqual(
        lines.slice(1, -2).map((l) => l.slice(0, l.indexOf(':')).toLowerCase()),
        HEADERS,
        request,
      );
    }
  });

  test('a Request-URI or From user that would break the request fails every message with EINVALIDOPTION', async () => {
    for (const extra of [
      { requestUri: 'sip:a.test SIP/2.0\r\nX-Injected: 1' },
      { fromUser: 'probe\r\nX-Injected: 1' },
    ]) {
      await helper.load(ALL, flow(extra));
      const out = collector(['ok', 'err']);
      const before = servers.answering.requests.length;
      helper.getNode('opt').receive({
        sip: sipFor({ transport: 'udp', address: '127.0.0.1', port: servers.answering.udpPort, host: 'ok.test' }),
      });
      await out.until(1);
      assert.equal(
        (out.byOutput.err![0] as { sip: { error: { code: string } } }).sip.error.code,
        'EINVALIDOPTION',
        JSON.stringify(extra),
      );
      assert.equal(servers.answering.requests.length, before);
      await helper.unload();
    }
  });

  test('close while probes are in flight: nothing is sent or done afterwards, no socket or timer is left', async () => {
    await helper.load(ALL, flow({ timeout: 30_000 }));
    const before = openHandles();
    const out = collector(['ok', 'err']);
    const calls = countCalls('opt');
    const first = servers.silent.requests.length;
    for (let i = 0; i < 3; i++) {
      helper.getNode('opt').receive({
        sip: sipFor({
          transport: 'udp',
          address: '127.0.0.1',
          port: servers.silent.udpPort,
          host: 'servers.silent.test',
        }),
      });
      helper.getNode('opt').receive({
        sip: sipFor({
          transport: 'tcp',
          address: '127.0.0.1',
          port: servers.silent.tcpPort,
          host: 'servers.silent.test',
        }),
      });
    }
    await servers.silent.received(first + 6);
    assert.ok(openHandles().sockets >= before.sockets + 6, 'six probes are in flight');
    await helper.unload();
    await servers.silent.allClosed();
    const left = openHandles();
    assert.ok(
      left.sockets <= before.sockets,
      `sockets: ${left.sockets} after close, ${before.sockets} before the probes`,
    );
    assert.ok(left.timers <= before.timers, `timers: ${left.timers} after close, ${before.timers} before the probes`);
    assert.equal(out.total(), 0, 'no message left the node');
    assert.deepEqual(calls, { send: 0, _complete: 0 }, 'neither send() nor done() was called after close');
  });

  test('sip-locate: close while locates wait for a silent nameserver: nothing is sent or done afterwards', async () => {
    const dns = await startFakeDns(() => []);
    try {
      await helper.load(ALL, [
        { id: 'r2', type: 'sip-resolver', nameservers: dns.nameserver, transports: 'udp', timeout: 5000, tries: 3 },
        { id: 'loc', type: 'sip-locate', resolver: 'r2', uri: 'payload', uriType: 'msg', wires: [['ok'], ['err']] },
        { id: 'ok', type: 'helper' },
        { id: 'err', type: 'helper' },
      ] as Flow);
      const out = collector(['ok', 'err']);
      const calls = countCalls('loc');
      // Keep the locate() promises, to wait until each has settled and its handler in the node has run.
      const locator: object = Reflect.get(helper.getNode('r2'), 'locator');
      const locate: unknown = Reflect.get(locator, 'locate');
      const pending: Array<Promise<unknown>> = [];
      Reflect.set(locator, 'locate', (...args: unknown[]) => {
        const p = Reflect.apply(locate as (...a: unknown[]) => Promise<unknown>, locator, args);
        pending.push(p);
        return p;
      });
      for (let i = 0; i < 5; i++) helper.getNode('loc').receive({ payload: `sip:host${i}.silent.test` });
      await until(
        () => new Set(dns.queries.map((q) => q.name.toLowerCase())).size >= 5,
        'every locate asked the nameserver',
      );
      assert.equal(pending.length, 5);
      await helper.unload();
      const settled = await Promise.allSettled(pending);
      assert.deepEqual(
        settled.map((r) => r.status === 'rejected' && (r.reason as { code: string }).code),
        Array(5).fill('ECANCELLED'),
      );
      assert.equal(out.total(), 0, 'no message left the node');
      assert.deepEqual(calls, { send: 0, _complete: 0 }, 'neither send() nor done() was called after close');
    } finally {
      await dns.stop();
    }
  });
});
