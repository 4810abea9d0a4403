// What the prober refuses to put on the wire, and what aborting a probe leaves behind, against a SIP responder on loopback.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sendOptions } from '../../src/probe/prober';
import { buildOptions } from '../../src/probe/message';
import { checkProbeOptions, probeTarget } from '../../src/probe/check';
import { SipLocateError } from '../../src/core/errors';
import type { Target, Transport } from '../../src/core/types';
import { openHandles, useResponders } from './sip-responder';

const target = (port: number, transport: Transport, host: unknown = '127.0.0.1'): Target =>
  ({ transport, address: '127.0.0.1', port, family: 4, host, source: 'numeric', ttl: 0 }) as Target;

describe('prober input checks and abort', () => {
  const servers = useResponders();
  const sockets = (): number => openHandles().sockets;

  test('hosts with CR, LF, control bytes or other junk are refused with EINVALIDMSG before any socket opens', async () => {
    const before = servers.answering.requests.length;
    for (const host of [
      'a.test\r\nX-Injected: 1',
      'a.test\nVia: x',
      'a\u0000b',
      'a b',
      'a;b',
      '',
      'a'.repeat(300),
      'ä.test',
      42,
      {},
      ['x'],
    ]) {
      const checked = probeTarget(target(servers.answering.udpPort, 'udp', host));
      assert.ok(checked instanceof SipLocateError && checked.code === 'EINVALIDMSG', JSON.stringify(host));
      await assert.rejects(
        sendOptions(target(servers.answering.udpPort, 'udp', host), { timeoutMs: 1000 }),
        { code: 'EINVALIDMSG' },
        JSON.stringify(host),
      );
    }
    assert.equal(servers.answering.requests.length, before, 'nothing was sent');
  });

  test('a target without a host uses its address; host names and IPs go through', async () => {
    const missing = probeTarget({ transport: 'udp', address: '127.0.0.1', port: servers.answering.udpPort });
    assert.ok(!(missing instanceof SipLocateError) && missing.host === '127.0.0.1');
    for (const host of [undefined, 'sip.example.test', '_sip._udp.example.test.', '127.0.0.1', '::1']) {
      const r = await sendOptions(target(servers.answering.udpPort, 'udp', host), { timeoutMs: 3000 });
      assert.equal(r.kind === 'response' && r.status, 200, String(host));
    }
    const last = servers.answering.requests.at(-1)!;
    assert.match(last.split('\r\n')[0]!, /^OPTIONS sip:\[::1\]:\d+;transport=udp SIP\/2\.0$/);
  });

  test('the configured Request-URI and From user are checked; buildOptions refuses any field with a line break', () => {
    assert.equal(checkProbeOptions({ requestUri: 'sip:ping@example.test', fromUser: 'probe-1' }), undefined);
    assert.equal(
      checkProbeOptions({ fromUser: 'probe%20a;b' }),
      undefined,
      'a well-formed %-escape and user-unreserved characters',
    );
    // The From user follows the strict URI rule of core/uri.ts: no "?" (it would start a header part), no bad %-escape.
    for (const o of [
      { requestUri: 'sip:a.test SIP/2.0\r\nX: y' },
      { requestUri: 'http://x' },
      { requestUri: '<sip:a.test>' },
      { fromUser: 'a\r\nb' },
      { fromUser: 'a b' },
      { fromUser: '' },
      { fromUser: 'a?b' },
      { fromUser: 'a%zz' },
      { fromUser: 'p'.repeat(65) },
    ]) {
      assert.equal(checkProbeOptions(o)?.code, 'EINVALIDOPTION', JSON.stringify(o));
    }
    const ok = {
      requestUri: 'sip:a.test',
      viaTransport: 'UDP',
      localAddress: '127.0.0.1',
      localPort: 5060,
      branch: 'z9hG4bK1',
      callId: 'c1',
      fromTag: 't1',
      fromUser: 'probe',
      toUri: 'sip:a.test',
      cseq: 1,
    };
    assert.match(buildOptions(ok), /^OPTIONS sip:a\.test SIP\/2\.0\r\n/);
    for (const field of ['requestUri', 'callId', 'fromTag', 'fromUser', 'toUri', 'branch']) {
      assert.throws(() => buildOptions({ ...ok, [field]: 'x\r\nX-Injected: 1' }), { code: 'EINVALIDMSG' }, field);
    }
  });

  test('aborting probes in flight over UDP and TCP rejects them with ECANCELLED and closes their sockets', async () => {
    const baseline = sockets();
    const controller = new AbortController();
    const probes = [
      ...Array.from({ length: 3 }, () =>
        sendOptions(target(servers.silent.udpPort, 'udp'), { timeoutMs: 30_000, signal: controller.signal }),
      ),
      ...Array.from({ length: 3 }, () =>
        sendOptions(target(servers.silent.tcpPort, 'tcp'), { timeoutMs: 30_000, signal: controller.signal }),
      ),
    ];
    const settled = Promise.allSettled(probes);
    await servers.silent.received(servers.silent.requests.length + 6);
    assert.equal(servers.silent.openConnections(), 3);
    controller.abort();
    const results = await settled;
    assert.deepEqual(
      results.map((r) => r.status === 'rejected' && (r.reason as SipLocateError).code),
      Array(6).fill('ECANCELLED'),
    );
    await servers.silent.allClosed();
    assert.equal(sockets(), baseline, 'no socket left open');
    await assert.rejects(
      sendOptions(target(servers.silent.udpPort, 'udp'), { signal: controller.signal }),
      { code: 'ECANCELLED' },
      'an aborted signal sends nothing',
    );
  });
});
