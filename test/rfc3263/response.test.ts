// RFC 3263 section 5: where responses go, from the top Via.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsClient } from '../../src/core/dns/client';
import { locateResponse } from '../../src/core/rfc3263/response';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';

describe('locateResponse (RFC 3263 section 5)', { skip: skipUnless('nsd') }, () => {
  let server: RunningDnsServer;
  before(async () => {
    server = await startDnsServer('nsd');
  });
  after(async () => server?.stop());
  const short = (t: { transport: string; address: string; port: number }): string =>
    `${t.transport} ${t.address}:${t.port}`;

  test('received and rport win over sent-by on UDP (RFC 3581); no DNS', async () => {
    const c = createDnsClient({ nameservers: [server.nameserver] });
    const t = await locateResponse(
      'SIP/2.0/UDP sip9.example.test:5066;branch=z9hG4bK1;received=127.0.0.5;rport=40000',
      c,
    );
    assert.deepEqual(t.map(short), ['udp 127.0.0.5:40000']);
    assert.equal(c.stats().queries, 0);
    const tcp = await locateResponse('SIP/2.0/TCP sip9.example.test:5066;received=127.0.0.5;rport=40000', c);
    assert.deepEqual(tcp.map(short), ['tcp 127.0.0.5:5066'], 'rport is for UDP');
    c.close();
  });

  test('maddr, numeric sent-by, and a sent-by name with a port (A/AAAA only)', async () => {
    const c = createDnsClient({ nameservers: [server.nameserver] });
    assert.deepEqual((await locateResponse('SIP/2.0/UDP 127.0.0.7;maddr=127.0.0.8', c)).map(short), [
      'udp 127.0.0.8:5060',
    ]);
    assert.deepEqual((await locateResponse('SIP/2.0/TLS [::1]:5099', c)).map(short), ['tls ::1:5099']);
    assert.deepEqual((await locateResponse('SIP/2.0/UDP sip2.example.test:5090', c)).map(short), [
      'udp 127.0.0.2:5090',
    ]);
    c.close();
  });

  test('a sent-by name without a port: SRV for the Via transport, then A/AAAA', async () => {
    const c = createDnsClient({ nameservers: [server.nameserver] });
    const t = await locateResponse('SIP/2.0/TCP example.test', c, { family: 'ipv4' });
    assert.deepEqual(t.map(short), ['tcp 127.0.0.1:5070']);
    const plain = await locateResponse('SIP/2.0/UDP sip2.example.test', c);
    assert.deepEqual(plain.map(short), ['udp 127.0.0.2:5060']);
    await assert.rejects(locateResponse('garbage', c), { code: 'EINVALIDVIA' });
    c.close();
  });
});
