// The DNS client against real BIND, NSD and Knot on loopback: the same assertions for each server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsClient } from '../../src/core/dns/client';
import { SipLocateError } from '../../src/core/errors';
import { DNS_SERVER_KINDS, skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { startProxy, type DnsProxy } from '../servers/proxy';
import { COUNTED } from '../support/counting';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    assert.ok(err instanceof SipLocateError);
    return err.code;
  }
}

for (const kind of DNS_SERVER_KINDS) {
  describe(`DNS client against ${kind}`, { skip: skipUnless(kind) }, () => {
    let server: RunningDnsServer;
    let proxy: DnsProxy;
    before(async () => {
      server = await startDnsServer(kind);
      proxy = await startProxy({ upstream: server.nameserver });
    });
    after(async () => {
      await proxy?.stop();
      await server?.stop();
    });
    const client = (): ReturnType<typeof createDnsClient> => {
      proxy.reset();
      return createDnsClient({ ...COUNTED, nameservers: [proxy.nameserver], timeoutMs: 1000, tries: 2 });
    };

    test('NAPTR answer: three SIP records with their fields', async () => {
      const c = client();
      const a = await c.query('example.test', 'NAPTR');
      const rows = a.records.map((r) => `${r.data.order} ${r.data.services} ${r.data.replacement}`).sort();
      assert.deepEqual(rows, [
        '10 SIPS+D2T _sips._tcp.example.test',
        '20 SIP+D2T _sip._tcp.example.test',
        '30 SIP+D2U _sip._udp.example.test',
      ]);
      assert.equal(a.ttl, 300);
      assert.equal(a.fromCache, false);
      assert.equal(proxy.udpQueries, 1);
      c.close();
    });

    test('additional data: after SRV, the target addresses cost no query when the server sent them', async () => {
      const c = client();
      const srv = await c.query('_sip._udp.example.test', 'SRV');
      assert.deepEqual(
        srv.records.map((r) => `${r.data.priority} ${r.data.weight} ${r.data.port} ${r.data.target}`).sort(),
        ['10 40 5071 sip2.example.test', '10 60 5070 sip1.example.test', '20 0 5072 sip3.example.test'],
      );
      const before = proxy.udpQueries;
      const a = await c.query('sip2.example.test', 'A');
      assert.deepEqual(
        a.records.map((r) => r.data),
        ['127.0.0.2'],
      );
      assert.equal(a.trust, 'additional');
      assert.equal(proxy.udpQueries, before, 'served from the additional section');
      c.close();
    });

    test('NXDOMAIN is ENOTFOUND, NODATA is ENODATA, and both are cached', async () => {
      const c = client();
      assert.equal(await codeOf(c.query('nothere.example.test', 'A')), 'ENOTFOUND');
      assert.equal(await codeOf(c.query('nonaptr.example.test', 'NAPTR')), 'ENODATA');
      assert.equal(await codeOf(c.query('nothere.example.test', 'A')), 'ENOTFOUND');
      assert.equal(await codeOf(c.query('nonaptr.example.test', 'NAPTR')), 'ENODATA');
      assert.equal(proxy.udpQueries, 2);
      c.close();
    });

    test('CNAME chain alias1 -> alias2 -> sip1 is followed', async () => {
      const c = client();
      const a = await c.query('alias1.example.test', 'A');
      assert.equal(a.canonicalName, 'sip1.example.test');
      assert.deepEqual(
        a.records.map((r) => r.data),
        ['127.0.0.1'],
      );
      c.close();
    });

    test('CNAME loop fails with a typed error', async () => {
      const c = client();
      const code = await codeOf(c.query('loop1.example.test', 'A'));
      assert.equal(code, kind === 'bind' ? 'ESERVFAIL' : 'ECNAMELOOP');
      c.close();
    });

    test('SRV "." comes back as the record, for the locator to read as "not offered"', async () => {
      const c = client();
      const a = await c.query('_sip._udp.nosvc.example.test', 'SRV');
      assert.deepEqual(
        a.records.map((r) => r.data.target),
        ['.'],
      );
      c.close();
    });

    test('30 NAPTRs: TC over UDP, then the whole set over TCP (1 UDP + 1 TCP)', async () => {
      const c = client();
      const a = await c.query('bignaptr.example.test', 'NAPTR');
      assert.equal(a.records.length, 30);
      assert.equal(proxy.udpQueries, 1);
      assert.equal(proxy.tcpConnections, 1);
      assert.equal(c.stats().truncated, 1);
      c.close();
    });

    test('identical concurrent queries reach the server once', async () => {
      const c = client();
      const all = await Promise.all(Array.from({ length: 50 }, () => c.query('sip1.example.test', 'AAAA')));
      assert.ok(all.every((a) => a.records[0]!.data === '::1'));
      assert.equal(proxy.udpQueries, 1);
      c.close();
    });
  });
}
