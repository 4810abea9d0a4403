// Issue 12 item 9: SRV port 0 skipped, the address look-up's failure code kept, clear family and sips: errors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import { SipLocateError } from '../../src/core/errors';
import { skipUnless } from '../servers/dns-servers';
import { notes, nsdWithProxy, zoneText } from '../system/harness';
import { startFakeDns, reply, type FakeDnsServer } from '../servers/fake-dns';

const ZONE = zoneText('fix.test', [
  '_sip._udp.zero IN SRV 0 0 0 a.zero',
  '_sip._udp.zero IN SRV 1 0 5060 b.zero',
  'a.zero IN A 127.0.40.1',
  'b.zero IN A 127.0.40.2',
  '_sip._udp.allzero IN SRV 0 0 0 a.zero',
  '_sip._udp.v4srv IN SRV 0 0 5060 a.zero',
]);

async function codeAndMessage(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    assert.ok(err instanceof SipLocateError);
    return `${err.code}: ${err.message}`;
  }
}

describe('small fixes against NSD', { skip: skipUnless('nsd') }, () => {
  const served = nsdWithProxy([{ origin: 'fix.test', text: ZONE }]);
  const locator = (o: Parameters<typeof createLocator>[0] = {}): ReturnType<typeof createLocator> =>
    createLocator({ nameservers: [served.proxy.nameserver], transports: ['udp'], addressLookup: 'dns', ...o });

  test('an SRV record with port 0 is skipped with a trace note; the others are used', async () => {
    const l = locator();
    try {
      const r = await l.locate('sip:zero.fix.test', { trace: true });
      assert.deepEqual(
        r.targets.map((t) => `${t.address}:${t.port}`),
        ['127.0.40.2:5060'],
      );
      assert.ok(notes(r.trace).includes('Skipped SRV 0 0 0 a.zero.fix.test: port 0 cannot be used.'));
    } finally {
      l.close();
    }
  });

  test('only port-0 SRV records: ENOADDRESS, never a port-0 target', async () => {
    const l = locator();
    try {
      assert.match(await codeAndMessage(l.locate('sip:allzero.fix.test')), /^ENOADDRESS: /);
    } finally {
      l.close();
    }
  });

  test('family ipv6 on IPv4-only SRV targets says the family excluded them', async () => {
    const l = locator({ family: 'ipv6' });
    try {
      assert.equal(
        await codeAndMessage(l.locate('sip:v4srv.fix.test')),
        'ENOADDRESS: The SRV targets of v4srv.fix.test have only IPv4 addresses, which the family policy ipv6 excludes.',
      );
    } finally {
      l.close();
    }
  });

  test('sips: with TLS disabled says that sips: needs TLS', async () => {
    const l = locator({ transports: ['udp', 'tcp'] });
    try {
      assert.equal(
        await codeAndMessage(l.locate('sips:zero.fix.test')),
        'ENOTRANSPORT: A sips: URI needs TLS (transport tls or wss), and neither is enabled (enabled: udp, tcp).',
      );
    } finally {
      l.close();
    }
  });
});

describe('the address look-up failure code is reported, not ENOADDRESS', () => {
  let fake: FakeDnsServer;
  before(async () => {
    // NAPTR: NXDOMAIN; SRV _sip._udp.sf.test -> t.sf.test; A/AAAA of t.sf.test: SERVFAIL.
    fake = await startFakeDns((q) => {
      const name = q.name.toLowerCase();
      if (q.type === 'SRV' && name === '_sip._udp.sf.test')
        return [
          reply(q, {
            answers: [
              { type: 'SRV', name: q.name, ttl: 60, data: { priority: 0, weight: 0, port: 5060, target: 't.sf.test' } },
            ],
          }),
        ];
      if (q.type === 'A' || q.type === 'AAAA') return [reply(q, { rcode: 2 })];
      return [reply(q, { rcode: 3 })];
    });
  });
  after(async () => fake?.stop());

  test('SRV targets whose A/AAAA look-ups answer SERVFAIL: ESERVFAIL', async () => {
    const l = createLocator({
      nameservers: [fake.nameserver],
      transports: ['udp'],
      tries: 1,
      timeoutMs: 500,
      addressLookup: 'dns',
    });
    try {
      const text = await codeAndMessage(l.locate('sip:sf.test'));
      assert.match(
        text,
        /^ESERVFAIL: SRV records exist for sf\.test but the address look-ups of their targets failed \(ESERVFAIL\)\.$/,
      );
    } finally {
      l.close();
    }
  });
});
