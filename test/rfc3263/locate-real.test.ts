// RFC 3263 selection end to end against real BIND, NSD and Knot serving test/zones/rfc3263.test.zone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type CreateLocatorOptions } from '../../src/core/locator';
import { SipLocateError } from '../../src/core/errors';
import type { Target } from '../../src/core/types';
import { DNS_SERVER_KINDS, skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';
import { startProxy, type DnsProxy } from '../servers/proxy';
import { seeded } from './seeded';
import { COUNTED } from '../support/counting';

const ZONES = [
  { origin: 'example.test', file: zonePath('example.test.zone') },
  { origin: 'rfc3263.test', file: zonePath('rfc3263.test.zone') },
];
const short = (t: Target): string => `${t.transport} ${t.address}:${t.port}`;

for (const kind of DNS_SERVER_KINDS) {
  describe(`RFC 3263 location against ${kind}`, { skip: skipUnless(kind) }, () => {
    let server: RunningDnsServer;
    let proxy: DnsProxy;
    before(async () => {
      server = await startDnsServer(kind, { zones: ZONES });
      proxy = await startProxy({ upstream: server.nameserver });
    });
    after(async () => {
      await proxy?.stop();
      await server?.stop();
    });
    const locator = (o: CreateLocatorOptions = {}): ReturnType<typeof createLocator> =>
      createLocator({
        ...COUNTED,
        nameservers: [proxy.nameserver],
        timeoutMs: 1000,
        tries: 2,
        random: seeded(7),
        addressLookup: 'dns',
        ...o,
      });
    async function locate(uri: string, o: CreateLocatorOptions = {}): Promise<string[]> {
      const l = locator(o);
      try {
        return (await l.locate(uri)).targets.map(short);
      } finally {
        l.close();
      }
    }
    async function codeOf(uri: string, o: CreateLocatorOptions = {}): Promise<string> {
      const l = locator(o);
      try {
        await l.locate(uri);
        return 'resolved';
      } catch (err) {
        assert.ok(err instanceof SipLocateError);
        assert.ok(err.message.length > 20, 'a sentence for people');
        return err.code;
      } finally {
        l.close();
      }
    }

    test('RFC 3263 4.1 example: TCP and UDP client takes SIP+D2T (order 90), servers from _sip._tcp', async () => {
      const t = await locate('sip:ex41.rfc3263.test', { transports: ['tcp', 'udp'] });
      assert.deepEqual([...t].sort(), ['tcp 127.0.10.1:5060', 'tcp 127.0.10.2:5060']);
    });

    test('RFC 3263 4.1 example: a TLS client takes SIPS+D2T (lowest order)', async () => {
      assert.deepEqual(await locate('sip:ex41.rfc3263.test'), ['tls 127.0.10.1:5061']);
    });

    test('only non-SIP NAPTRs: SRV for every enabled transport in preference order', async () => {
      assert.deepEqual(await locate('sip:nonsip.rfc3263.test'), ['udp 127.0.11.1:5060', 'tcp 127.0.11.2:5060']);
      assert.deepEqual(await locate('sip:nonsip.rfc3263.test', { transports: ['tcp', 'udp'] }), [
        'tcp 127.0.11.2:5060',
        'udp 127.0.11.1:5060',
      ]);
    });

    test('SIP NAPTRs exist but none is usable: ENOTRANSPORT; with naptrNoMatch=fallback, SRV', async () => {
      assert.equal(await codeOf('sip:onlysctp.rfc3263.test'), 'ENOTRANSPORT');
      assert.deepEqual(await locate('sip:onlysctp.rfc3263.test', { naptrNoMatch: 'fallback' }), [
        'udp 127.0.12.1:5060',
      ]);
      assert.equal(
        await codeOf('sip:onlysctp.rfc3263.test', { transports: ['sctp'] }),
        'ENOTFOUND',
        'usable NAPTR, but its SRV name is empty',
      );
    });

    test('an empty SRV behind the first NAPTR of an order: the next record of that order is used, never a higher order', async () => {
      assert.deepEqual(await locate('sip:skip.rfc3263.test'), ['udp 127.0.13.1:5080']);
    });

    test('flag "a": A/AAAA of the replacement with the default port', async () => {
      const l = locator();
      const r = await l.locate('sip:aflag.rfc3263.test');
      assert.deepEqual(r.targets.map(short), ['udp 127.0.14.1:5060']);
      assert.equal(r.targets[0]!.source, 'naptr');
      assert.equal(r.targets[0]!.host, 'host.aflag.rfc3263.test');
      l.close();
    });

    test('SRV targets without addresses: ENOADDRESS, the domain A record is never used', async () => {
      assert.equal(await codeOf('sip:noaddr.rfc3263.test'), 'ENOADDRESS');
    });

    test('UDP-only client, its NAPTR points at an SRV name with no records, the next order is TCP: A of the domain over UDP (RFC 3263 4.2)', async () => {
      assert.deepEqual(await locate('sip:emptyudp.rfc3263.test', { transports: ['udp'] }), ['udp 127.0.24.2:5060']);
      // A client that can use the next order takes it: the A fallback is only for when no NAPTR leads to SRV records.
      assert.deepEqual(await locate('sip:emptyudp.rfc3263.test', { transports: ['udp', 'tcp'] }), [
        'tcp 127.0.24.1:5070',
      ]);
    });

    test('SRV target "." means not offered: ENOSERVICE', async () => {
      assert.equal(await codeOf('sip:nosvc.example.test;transport=udp'), 'ENOSERVICE');
    });

    test('a numeric SRV target works', async () => {
      assert.deepEqual(await locate('sip:numtarget.rfc3263.test;transport=udp'), ['udp 127.0.16.1:5062']);
    });

    test('SRV priority first (Asterisk sort_priority); weight 0 after weighted ones (same_priority_zero_weight)', async () => {
      assert.deepEqual(await locate('sip:prio.rfc3263.test;transport=udp'), [
        'udp 127.0.17.1:5060',
        'udp 127.0.17.2:5060',
      ]);
      for (let seed = 1; seed <= 20; seed++) {
        assert.deepEqual(await locate('sip:zerow.rfc3263.test;transport=udp', { random: seeded(seed) }), [
          'udp 127.0.18.1:5060',
          'udp 127.0.18.2:5060',
        ]);
      }
    });

    test('Asterisk different_priorities_different_weights: priorities [5,5,10,10]; moo first about 80/90 of 900 runs', async () => {
      const l = locator({ random: seeded(42) });
      let moo = 0;
      const runs = 900;
      for (let i = 0; i < runs; i++) {
        const t = (await l.locate('sip:weights.rfc3263.test;transport=udp')).targets.map((x) => x.address);
        assert.deepEqual([...t.slice(0, 2)].sort(), ['127.0.19.3', '127.0.19.4']);
        assert.deepEqual([...t.slice(2)].sort(), ['127.0.19.1', '127.0.19.2']);
        if (t[0] === '127.0.19.3') moo++;
      }
      const share = moo / runs;
      assert.ok(Math.abs(share - 80 / 90) < 0.04, `moo first ${share.toFixed(3)}, expected 0.889 +- 0.04`);
      l.close();
    });

    test('sips: only SIPS services count (TLS)', async () => {
      assert.deepEqual(await locate('sips:mixed.rfc3263.test'), ['tls 127.0.20.1:5061']);
      assert.deepEqual(await locate('sip:mixed.rfc3263.test'), ['udp 127.0.20.1:5060']);
    });

    test('WebSocket NAPTR (RFC 7118) when ws is enabled; ENOTRANSPORT when not', async () => {
      assert.deepEqual(await locate('sip:wsdom.rfc3263.test', { transports: ['ws', 'udp'] }), ['ws 127.0.21.1:8080']);
      assert.equal(await codeOf('sip:wsdom.rfc3263.test'), 'ENOTRANSPORT');
    });

    test('no NAPTR and no SRV: A/AAAA with the default port of the transport (UDP 5060, TLS 5061, WS 80, WSS 443)', async () => {
      assert.deepEqual(await locate('sip:plain.rfc3263.test'), ['udp 127.0.22.1:5060']);
      assert.deepEqual(await locate('sips:plain.rfc3263.test'), ['tls 127.0.22.1:5061']);
      assert.deepEqual(await locate('sip:plain.rfc3263.test;transport=ws', { transports: ['ws'] }), [
        'ws 127.0.22.1:80',
      ]);
      assert.deepEqual(await locate('sips:plain.rfc3263.test;transport=ws', { transports: ['wss'] }), [
        'wss 127.0.22.1:443',
      ]);
    });

    test('explicit port: A/AAAA only, no NAPTR or SRV query', async () => {
      proxy.reset();
      assert.deepEqual(await locate('sip:server1.ex41.rfc3263.test:5099', { family: 'ipv4' }), ['udp 127.0.10.1:5099']);
      assert.ok(
        proxy.questions.every((q) => q.startsWith('A ')),
        proxy.questions.join(', '),
      );
    });

    test('transport parameter: SRV for that transport only, then A/AAAA', async () => {
      proxy.reset();
      assert.deepEqual((await locate('sip:ex41.rfc3263.test;transport=tcp')).sort(), [
        'tcp 127.0.10.1:5060',
        'tcp 127.0.10.2:5060',
      ]);
      assert.ok(!proxy.questions.some((q) => q.startsWith('NAPTR')), 'no NAPTR with a transport parameter');
    });

    test('maddr replaces the host; numeric hosts need no DNS at all', async () => {
      proxy.reset();
      assert.deepEqual(await locate('sip:alice@ignored.invalid;maddr=127.0.0.9'), ['udp 127.0.0.9:5060']);
      assert.deepEqual(await locate('sips:[::1]:7000'), ['tls ::1:7000']);
      assert.deepEqual(await locate('<sip:127.0.0.8;transport=tcp>'), ['tcp 127.0.0.8:5060']);
      assert.equal(proxy.udpQueries, 0);
    });

    test('family policies order or filter addresses', async () => {
      assert.deepEqual(await locate('sip:dual.rfc3263.test'), ['udp 127.0.23.1:5060', 'udp ::1:5060']);
      assert.deepEqual(await locate('sip:dual.rfc3263.test', { family: 'ipv6-first' }), [
        'udp ::1:5060',
        'udp 127.0.23.1:5060',
      ]);
      assert.deepEqual(await locate('sip:dual.rfc3263.test', { family: 'ipv6' }), ['udp ::1:5060']);
      assert.deepEqual(await locate('sip:dual.rfc3263.test', { family: 'ipv4' }), ['udp 127.0.23.1:5060']);
      // The error names the family policy as the reason (an IPv6-only host under family ipv4).
      assert.equal(await codeOf('sip:v6only.rfc3263.test', { family: 'ipv4' }), 'ENOADDRESS');
      const l = locator({ family: 'ipv4' });
      try {
        await assert.rejects(
          l.locate('sip:v6only.rfc3263.test'),
          /has only IPv6 addresses, which the family policy ipv4 excludes/,
        );
      } finally {
        l.close();
      }
    });

    test('cold resolution of example.test: NAPTR and the fallback SRV queries leave together; no other query when the server sends additionals', async () => {
      proxy.reset();
      const t = await locate('sip:example.test');
      assert.deepEqual(t, ['tls 127.0.0.1:5061', 'tls ::1:5061']);
      assert.deepEqual([...proxy.questions].sort(), [
        'NAPTR example.test',
        'SRV _sip._tcp.example.test',
        'SRV _sip._udp.example.test',
        'SRV _sips._tcp.example.test',
      ]);
    });

    test('limits truncate and never fail: 30 NAPTR records, maxTargets 5', async () => {
      const t = await locate('sip:bignaptr.example.test', { maxTargets: 5 });
      assert.equal(t.length, 1, 'only the lowest order counts');
      assert.deepEqual(t, ['udp 127.0.2.1:5060']);
      const u = await locate('sip:big.example.test:5060', { maxTargets: 5 });
      assert.equal(u.length, 5);
    });
  });
}
