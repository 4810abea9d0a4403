// OPTIONS over ws and wss (RFC 7118) against a real WebSocket SIP responder on loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sendOptions } from '../../src/probe/prober';
import { SipLocateError } from '../../src/core/errors';
import { withAddressing } from '../../src/core/target';
import type { Target, Transport } from '../../src/core/types';
import { freePort } from '../servers/ports';
import { makeTestCa, type TestCa } from './pki';
import { openHandles, startSipResponder } from './sip-responder';
import { startWsResponder, type WsMode, type WsResponder } from './ws-responder';

const target = (port: number, transport: Transport, host = '127.0.0.1'): Target =>
  withAddressing({ transport, address: '127.0.0.1', port, family: 4, host, source: 'srv', ttl: 60 });

describe('OPTIONS over WebSocket', () => {
  let pki: TestCa;
  const ws: Partial<Record<WsMode, WsResponder>> = {};
  let wss: WsResponder;
  before(async () => {
    pki = makeTestCa();
    for (const mode of ['answer', 'busy', 'silent', 'hangup', 'no-subprotocol'] as const)
      ws[mode] = await startWsResponder(mode);
    wss = await startWsResponder('answer', pki.issue('ws.example.test', ['DNS:ws.example.test']));
  });
  after(async () => {
    for (const r of [...Object.values(ws), wss]) await r?.stop();
    pki.remove();
  });

  test('ws: subprotocol sip, one text message holding the request, WS Via with a .invalid host, closed with 1000 after the 200', async () => {
    const server = ws.answer!;
    const r = await sendOptions(target(server.port, 'ws', 'ws.example.test'), { timeoutMs: 5000 });
    assert.equal(r.kind === 'response' && r.status, 200);
    assert.deepEqual(server.upgrades.at(-1), {
      host: `ws.example.test:${server.port}`,
      protocols: 'sip',
      servername: undefined,
    });
    const { text, binary } = server.requests.at(-1)!;
    assert.equal(binary, false);
    const lines = text.split('\r\n');
    assert.equal(lines[0], `OPTIONS sip:ws.example.test:${server.port};transport=ws SIP/2.0`);
    assert.match(lines[1]!, /^Via: SIP\/2\.0\/WS [0-9a-f]{12}\.invalid;branch=z9hG4bK[0-9a-f]{20};rport$/);
    assert.match(text, /\r\nContact: <sip:probe@[0-9a-f]{12}\.invalid;transport=ws>\r\n/);
    assert.ok(text.endsWith('Content-Length: 0\r\n\r\n'), 'exactly one SIP message in the WebSocket message');
    await server.closed(1);
    assert.deepEqual(server.closes, [1000]);
  });

  test('ws: 503 with Retry-After is the 503 failure', async () => {
    const r = await sendOptions(target(ws.busy!.port, 'ws'), { timeoutMs: 5000 });
    assert.deepEqual(r.kind === 'failure' && [r.failure, r.code, r.status, r.retryAfter], ['503', 'E503', 503, 30]);
  });

  test('wss: the certificate is checked with the given CA; Via WSS, Request-URI ;transport=ws, SNI the host name', async () => {
    const r = await sendOptions(target(wss.port, 'wss', 'ws.example.test'), { timeoutMs: 5000, ca: pki.ca });
    assert.equal(r.kind === 'response' && r.status, 200);
    const lines = wss.requests.at(-1)!.text.split('\r\n');
    assert.equal(lines[0], `OPTIONS sip:ws.example.test:${wss.port};transport=ws SIP/2.0`);
    assert.match(lines[1]!, /^Via: SIP\/2\.0\/WSS [0-9a-f]{12}\.invalid;/);
    assert.equal(wss.upgrades.at(-1)!.servername, 'ws.example.test');
    const untrusted = await sendOptions(target(wss.port, 'wss', 'ws.example.test'), { timeoutMs: 5000 });
    assert.deepEqual(untrusted.kind === 'failure' && [untrusted.failure, untrusted.code], ['transport', 'ETRANSPORT']);
    assert.match(untrusted.kind === 'failure' ? untrusted.message : '', /unable to verify|self.signed|local issuer/i);
    const unchecked = await sendOptions(target(wss.port, 'wss', 'ws.example.test'), {
      timeoutMs: 5000,
      verifyTls: false,
    });
    assert.equal(unchecked.kind === 'response' && unchecked.status, 200);
  });

  test('silence is ETIMEOUT and the connection is closed; hang-up is ECONNRESET; refused is ECONNREFUSED; no sip subprotocol is ETRANSPORT', async () => {
    const closedBefore = ws.silent!.closes.length;
    const silent = await sendOptions(target(ws.silent!.port, 'ws'), { timeoutMs: 300 });
    assert.deepEqual(silent.kind === 'failure' && [silent.failure, silent.code], ['timeout', 'ETIMEOUT']);
    await ws.silent!.closed(closedBefore + 1);
    assert.equal(ws.silent!.open(), 0);
    const hangup = await sendOptions(target(ws.hangup!.port, 'ws'), { timeoutMs: 5000 });
    assert.deepEqual(hangup.kind === 'failure' && [hangup.failure, hangup.code], ['transport', 'ECONNRESET']);
    const refused = await sendOptions(target(await freePort(), 'ws'), { timeoutMs: 5000 });
    assert.deepEqual(refused.kind === 'failure' && [refused.failure, refused.code], ['transport', 'ECONNREFUSED']);
    const noSip = await sendOptions(target(ws['no-subprotocol']!.port, 'ws'), { timeoutMs: 5000 });
    assert.deepEqual(noSip.kind === 'failure' && [noSip.failure, noSip.code], ['transport', 'ETRANSPORT']);
    assert.match(noSip.kind === 'failure' ? noSip.message : '', /subprotocol/);
    assert.equal(ws['no-subprotocol']!.requests.length, 0, 'no request without the sip subprotocol');
    await ws['no-subprotocol']!.closed(1);
  });

  test('aborting ws and wss probes in flight rejects them with ECANCELLED and leaves no socket open', async () => {
    const silentWss = await startWsResponder('silent', pki.issue('ws.example.test', ['DNS:ws.example.test']));
    try {
      const baseline = openHandles().sockets;
      const controller = new AbortController();
      const sent = ws.silent!.requests.length;
      const closedBefore = ws.silent!.closes.length;
      const probes = [
        ...Array.from({ length: 3 }, () =>
          sendOptions(target(ws.silent!.port, 'ws'), { timeoutMs: 30_000, signal: controller.signal }),
        ),
        ...Array.from({ length: 2 }, () =>
          sendOptions(target(silentWss.port, 'wss', 'ws.example.test'), {
            timeoutMs: 30_000,
            ca: pki.ca,
            signal: controller.signal,
          }),
        ),
      ];
      const settled = Promise.allSettled(probes);
      await ws.silent!.received(sent + 3);
      await silentWss.received(2);
      controller.abort();
      const results = await settled;
      assert.deepEqual(
        results.map((r) => r.status === 'rejected' && (r.reason as SipLocateError).code),
        Array(5).fill('ECANCELLED'),
      );
      await silentWss.closed(2);
      await ws.silent!.closed(closedBefore + 3);
      assert.equal(ws.silent!.open() + silentWss.open(), 0);
      assert.equal(openHandles().sockets, baseline, 'no socket left open');
    } finally {
      await silentWss.stop();
    }
  });

  test('a server that never answers the upgrade is ETIMEOUT, and its connection is closed', async () => {
    const tcp = await startSipResponder('silent');
    try {
      const r = await sendOptions(target(tcp.tcpPort, 'ws'), { timeoutMs: 300 });
      assert.deepEqual(r.kind === 'failure' && [r.failure, r.code], ['timeout', 'ETIMEOUT']);
      assert.match(tcp.requests[0] ?? '', /^GET \/ HTTP\/1\.1\r\n/);
      assert.match(tcp.requests[0] ?? '', /\r\nSec-WebSocket-Protocol: sip\r\n/i);
      await tcp.allClosed();
    } finally {
      await tcp.stop();
    }
  });

  test('unchecked hosts never reach the upgrade request', async () => {
    const before = ws.answer!.upgrades.length;
    for (const host of ['a.test\r\nX-Injected: 1', 'a b', 'a/b', '']) {
      await assert.rejects(
        sendOptions(target(ws.answer!.port, 'ws', host), { timeoutMs: 1000 }),
        { code: 'EINVALIDMSG' },
        JSON.stringify(host),
      );
    }
    assert.equal(ws.answer!.upgrades.length, before);
  });
});
