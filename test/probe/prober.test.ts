// sip-options' prober against real sipp UAS instances, a fake UDP responder and a local TLS server.
import { withAddressing } from '../../src/core/target';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket, Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { retransmitDelays, sendOptions } from '../../src/probe/prober';
import { parseResponse } from '../../src/probe/message';
import type { Target, Transport } from '../../src/core/types';
import { skipUnlessSipp, startSipp, type RunningSipp } from '../servers/sipp';
import { freePort } from '../servers/ports';

const target = (address: string, port: number, transport: Transport, host = address): Target =>
  withAddressing({ transport, address, port, family: 4, host, source: 'numeric', ttl: 0 });

describe('OPTIONS prober against sipp', { skip: skipUnlessSipp() }, () => {
  const uas: Record<string, RunningSipp> = {};
  before(async () => {
    uas.ok = await startSipp({ scenario: 'uas_options_200.xml', address: '127.0.0.81', transport: 'udp' });
    uas.okTcp = await startSipp({ scenario: 'uas_options_200.xml', address: '127.0.0.81', transport: 'tcp' });
    uas.busy = await startSipp({ scenario: 'uas_options_503.xml', address: '127.0.0.82', transport: 'udp' });
    uas.busyTcp = await startSipp({ scenario: 'uas_options_503.xml', address: '127.0.0.82', transport: 'tcp' });
    uas.silent = await startSipp({ scenario: 'uas_options_silent.xml', address: '127.0.0.83', transport: 'udp' });
  });
  after(async () => {
    for (const u of Object.values(uas)) await u.stop();
  });

  test('200 over UDP and TCP, with the response headers', async () => {
    for (const u of [uas.ok!, uas.okTcp!]) {
      const r = await sendOptions(target(u.address, u.port, u.transport), { timeoutMs: 3000 });
      assert.equal(r.kind, 'response');
      if (r.kind === 'response') {
        assert.equal(r.status, 200);
        assert.match(r.headers.cseq!, /^1 OPTIONS$/);
        assert.match(r.headers.via!, new RegExp(`SIP/2.0/${u.transport.toUpperCase()} .*;branch=z9hG4bK`));
      }
    }
  });

  test('503 with Retry-After over UDP and TCP is a failure with retryAfter', async () => {
    for (const u of [uas.busy!, uas.busyTcp!]) {
      const r = await sendOptions(target(u.address, u.port, u.transport), { timeoutMs: 3000 });
      assert.deepEqual(r.kind === 'failure' && [r.failure, r.retryAfter, r.status], ['503', 120, 503]);
    }
  });

  test('a server that never answers: timeout at the configured bound', async (t) => {
    // A mock clock: the probe must still be waiting 1 ms before the bound and must end exactly at it.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let settled = false;
    const pending = sendOptions(target(uas.silent!.address, uas.silent!.port, 'udp'), { timeoutMs: 700 }).finally(
      () => (settled = true),
    );
    t.mock.timers.tick(699);
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'still waiting at 699 ms');
    t.mock.timers.tick(1);
    const r = await pending;
    assert.equal(r.kind === 'failure' && r.failure, 'timeout');
  });

  test('nothing listening: transport failure over UDP (ICMP) and TCP (RST), quickly', async () => {
    const port = await freePort('127.0.0.84');
    for (const t of ['udp', 'tcp'] as const) {
      const r = await sendOptions(target('127.0.0.84', port, t), { timeoutMs: 5000 });
      assert.deepEqual(r.kind === 'failure' && [r.failure, r.code], ['transport', 'ECONNREFUSED']);
    }
  });
});

describe('OPTIONS prober details', () => {
  test('UDP retransmits at T1 doubling; stray responses are ignored and counted', async (t) => {
    // A mock clock drives the retransmission timer; the copies cross a real socket. Each copy must leave exactly
    // when the schedule says (not 1 ms before), so the test holds however slow the machine is.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const sends = t.mock.method(Socket.prototype, 'send');
    const sock = createSocket('udp4');
    const port = await freePort();
    await new Promise<void>((r) => sock.bind(port, '127.0.0.1', () => r()));
    const clientSends = (): number => sends.mock.calls.filter((c) => c.this !== sock).length;
    let arrivals = 0;
    let arrived: (() => void) | undefined;
    const arrival = (n: number): Promise<void> =>
      new Promise<void>((r) => {
        if (arrivals >= n) r();
        else arrived = () => arrivals >= n && r();
      });
    sock.on('message', (buf, rinfo) => {
      arrivals++;
      arrived?.();
      if (arrivals < 4) return;
      const req = buf.toString();
      const via = /^Via: (.*)$/m.exec(req)![1];
      const callId = /^Call-ID: (.*)$/m.exec(req)![1];
      const stray = `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKother\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      const real = `SIP/2.0 404 Not Here\r\nVia: ${via}\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      sock.send(Buffer.from('garbage'), rinfo.port, rinfo.address);
      sock.send(Buffer.from(stray), rinfo.port, rinfo.address);
      sock.send(Buffer.from(real), rinfo.port, rinfo.address);
    });
    t.after(() => sock.close());
    const stats = { stray: 0, malformed: 0 };
    const pending = sendOptions(target('127.0.0.1', port, 'udp'), { timeoutMs: 5000, t1Ms: 50, stats });
    await arrival(1);
    const seen: number[] = [clientSends()];
    for (const [n, gap] of [50, 100, 200].entries()) {
      t.mock.timers.tick(gap - 1);
      seen.push(clientSends());
      t.mock.timers.tick(1);
      seen.push(clientSends());
      await arrival(n + 2);
    }
    assert.deepEqual(seen, [1, 1, 2, 2, 3, 3, 4], 'copies leave at 50, 150 and 350 ms: T1 doubling, not a ms early');
    const r = await pending;
    assert.deepEqual(
      r.kind === 'response' && [r.status, r.reason],
      [404, 'Not Here'],
      'any final response but 503 counts as an answer',
    );
    assert.deepEqual(stats, { stray: 1, malformed: 1 });
  });

  test('the retransmission schedule: T1 doubling up to T2 = 4 s, inside timer F', () => {
    assert.deepEqual(retransmitDelays(500, 32000), [500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000]);
    assert.deepEqual(retransmitDelays(50, 400), [50, 100, 200]);
    assert.deepEqual(retransmitDelays(500, 400), []);
  });

  test('responses: compact headers, folded lines, Content-Length framing on streams, malformed input', () => {
    const text =
      'SIP/2.0 200 OK\r\nv: SIP/2.0/TCP h;branch=z9hG4bKa\r\ni: abc\r\nCSeq: 7\r\n options\r\nl: 3\r\n\r\nxyzSIP/2.0';
    const r = parseResponse(Buffer.from(text), true);
    assert.ok(r && r !== 'malformed');
    assert.deepEqual(
      [r.status, r.branch, r.callId, r.cseqMethod, r.length],
      [200, 'z9hG4bKa', 'abc', 'OPTIONS', text.length - 'SIP/2.0'.length],
    );
    assert.equal(parseResponse(Buffer.from('SIP/2.0 200 OK\r\nl: 10\r\n\r\nab'), true), undefined);
    assert.equal(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'), false), 'malformed');
    assert.equal(parseResponse(Buffer.from('SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n'), false), 'malformed');
    assert.equal(parseResponse(Buffer.alloc(20000, 65), true), 'malformed');
  });

  describe('TLS', () => {
    let server: TlsServer;
    let port: number;
    let dir: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sip-tls-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=sip.tls.test',
          '-addext',
          'subjectAltName=DNS:sip.tls.test',
        ],
        { stdio: 'ignore' },
      );
      port = await freePort();
      server = createTlsServer(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
        (s) => {
          let buf = '';
          s.on('data', (d) => {
            buf += d.toString();
            if (!buf.includes('\r\n\r\n')) return;
            const via = /^Via: (.*)$/m.exec(buf)![1];
            const callId = /^Call-ID: (.*)$/m.exec(buf)![1];
            s.end(
              `SIP/2.0 200 OK\r\nVia: ${via}\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
            );
          });
          s.on('error', () => undefined);
        },
      );
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    });
    after(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    });

    test('an untrusted certificate is a transport failure; with verification off the answer counts', async () => {
      const bad = await sendOptions(target('127.0.0.1', port, 'tls', 'sip.tls.test'), { timeoutMs: 3000 });
      assert.equal(bad.kind === 'failure' && bad.failure, 'transport');
      assert.match(bad.kind === 'failure' ? bad.message : '', /self-signed|self signed/);
      const ok = await sendOptions(target('127.0.0.1', port, 'tls', 'sip.tls.test'), {
        timeoutMs: 3000,
        verifyTls: false,
      });
      assert.equal(ok.kind === 'response' && ok.status, 200);
    });
  });
});
