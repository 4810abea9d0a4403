// System settings when no nameservers are given: servers from getServers(), search/ndots/timeout/attempts from an injected resolv.conf.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestLocator, type LocatorTestOptions } from '../../src/core/locator';
import { SipLocateError } from '../../src/core/errors';
import { searchCandidates } from '../../src/core/system/search';
import { skipUnless } from '../servers/dns-servers';
import { notes, nsdWithProxy, zoneText } from './harness';
import { startFakeDns, type FakeDnsServer } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

test('searchCandidates follows glibc: fewer dots than ndots tries the search list first, a trailing dot none', () => {
  const search = { domains: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], ndots: 5 };
  assert.deepEqual(searchCandidates('pbx', false, search), [
    'pbx.default.svc.cluster.local',
    'pbx.svc.cluster.local',
    'pbx.cluster.local',
    'pbx',
  ]);
  assert.deepEqual(searchCandidates('pbx', true, search), ['pbx']);
  assert.deepEqual(searchCandidates('a.b.c.d.e.f', false, search), [
    'a.b.c.d.e.f',
    'a.b.c.d.e.f.default.svc.cluster.local',
    'a.b.c.d.e.f.svc.cluster.local',
    'a.b.c.d.e.f.cluster.local',
  ]);
  assert.deepEqual(searchCandidates('pbx.example.com', false, { domains: ['corp.example'], ndots: 1 }), [
    'pbx.example.com',
    'pbx.example.com.corp.example',
  ]);
  assert.deepEqual(searchCandidates('pbx', false, { domains: [], ndots: 1 }), ['pbx']);
});

test('property: the name itself is tried exactly once, last when it has fewer dots than ndots, first otherwise', () => {
  fc.assert(
    fc.property(
      fc.domain(),
      fc.boolean(),
      fc.array(fc.domain(), { maxLength: 6 }),
      fc.integer({ min: 0, max: 15 }),
      (host, absolute, domains, ndots) => {
        const names = searchCandidates(host, absolute, { domains, ndots });
        assert.equal(names.filter((n) => n === host).length, 1);
        if (absolute || domains.length === 0) return assert.deepEqual(names, [host]);
        const dots = host.split('.').length - 1;
        assert.equal(names.indexOf(host), dots < ndots ? names.length - 1 : 0);
        assert.ok(names.length <= domains.length + 1 && names.every((n) => n.length <= 253));
      },
    ),
    { numRuns: 500 },
  );
});

const ZONE = zoneText('cluster.test', [
  'pbx.telephony IN A 127.0.30.1',
  '_sip._udp.pbx.telephony IN SRV 0 0 5080 pbx.telephony',
  'short IN A 127.0.30.2',
]);

describe(
  'search list and ndots from an injected resolv.conf, servers from an injected getServers (NSD)',
  { skip: skipUnless('nsd') },
  () => {
    const served = nsdWithProxy([{ origin: 'cluster.test', text: ZONE }]);
    const conf = (name: string, text: string): string => {
      const p = join(served.dir, name);
      writeFileSync(p, text);
      return p;
    };
    const locator = (resolvConf: string, o: LocatorTestOptions = {}): ReturnType<typeof createTestLocator> =>
      createTestLocator({
        ...COUNTED,
        system: { resolvConfPath: resolvConf, getServers: () => [served.proxy.nameserver] },
        transports: ['udp'],
        addressLookup: 'dns',
        ...o,
      });

    test('Kubernetes style: sip:pbx.telephony with ndots 5 matches pbx.telephony.cluster.test after two search domains', async () => {
      served.proxy.reset();
      const l = locator(
        conf(
          'k8s.conf',
          'nameserver 192.0.2.53\nsearch default.svc.cluster.test svc.cluster.test cluster.test\noptions ndots:5\n',
        ),
      );
      try {
        const r = await l.locate('sip:pbx.telephony', { trace: true });
        assert.deepEqual(
          r.targets.map((t) => `${t.host} ${t.address}:${t.port}`),
          ['pbx.telephony.cluster.test 127.0.30.1:5080'],
        );
        const n = notes(r.trace);
        assert.ok(
          n.includes(
            'Search list (ndots 5): trying pbx.telephony.default.svc.cluster.test, pbx.telephony.svc.cluster.test, pbx.telephony.cluster.test, pbx.telephony.',
          ),
          n.join('\n'),
        );
        assert.ok(n.includes('Matched pbx.telephony.cluster.test.'));
        const asked = served.proxy.questions.map((q) => q.toLowerCase());
        assert.ok(
          asked.indexOf('naptr pbx.telephony.default.svc.cluster.test') <
            asked.indexOf('naptr pbx.telephony.cluster.test'),
        );
        assert.ok(
          !asked.some((q) => q.endsWith(' pbx.telephony')),
          'the bare name is not asked once a search name matched',
        );
      } finally {
        l.close();
      }
    });

    // NSD serves only cluster.test, so a bare "short" is REFUSED (a recursive resolver would say NXDOMAIN).
    test('a trailing dot disables the search list', async () => {
      const l = locator(conf('one.conf', 'search cluster.test\n'));
      try {
        assert.equal((await l.locate('sip:short')).targets[0]!.host, 'short.cluster.test');
        served.proxy.reset();
        await assert.rejects(
          l.locate('sip:short.'),
          (err: unknown) => err instanceof SipLocateError && err.code === 'EREFUSED',
        );
        assert.ok(
          served.proxy.questions.length > 0 &&
            served.proxy.questions.every((q) => !q.toLowerCase().includes('cluster.test')),
          served.proxy.questions.join(', '),
        );
      } finally {
        l.close();
      }
    });

    test('a name with at least ndots dots is tried as written first, then with the search domains', async () => {
      served.proxy.reset();
      const l = locator(conf('ndots1.conf', 'search cluster.test\noptions ndots:1\n'));
      try {
        const r = await l.locate('sip:pbx.telephony', { trace: true });
        assert.equal(r.targets[0]!.host, 'pbx.telephony.cluster.test');
        const asked = served.proxy.questions.map((q) => q.toLowerCase());
        assert.ok(
          asked.indexOf('naptr pbx.telephony') >= 0 &&
            asked.indexOf('naptr pbx.telephony') < asked.indexOf('naptr pbx.telephony.cluster.test'),
        );
      } finally {
        l.close();
      }
    });

    test('explicit nameservers keep working as before: no search list', async () => {
      const l = createTestLocator({
        ...COUNTED,
        nameservers: [served.proxy.nameserver],
        system: { resolvConfPath: conf('ignored.conf', 'search cluster.test\n') },
        transports: ['udp'],
        addressLookup: 'dns',
      });
      try {
        served.proxy.reset();
        await assert.rejects(
          l.locate('sip:short'),
          (err: unknown) => err instanceof SipLocateError && err.code === 'EREFUSED',
        );
        assert.ok(
          served.proxy.questions.every((q) => !q.toLowerCase().includes('cluster.test')),
          served.proxy.questions.join(', '),
        );
      } finally {
        l.close();
      }
    });
  },
);

describe('options timeout and attempts from resolv.conf', () => {
  let silent: FakeDnsServer;
  let dir: string;
  before(async () => {
    silent = await startFakeDns(() => []);
    dir = mkdtempSync(join(tmpdir(), 'sip-timeout-'));
  });
  after(async () => {
    await silent?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('timeout:1 attempts:1 against a silent server: the DNS gives up (ETIMEOUT from DNS, not the 10 s locate deadline) after one attempt per question', async () => {
    const path = join(dir, 'resolv.conf');
    writeFileSync(path, 'options timeout:1 attempts:1\n');
    const l = createTestLocator({
      ...COUNTED,
      system: { resolvConfPath: path, getServers: () => [silent.nameserver] },
      transports: ['udp'],
      addressLookup: 'dns',
      resolveTimeoutMs: 10000,
    });
    try {
      await assert.rejects(
        l.locate('sip:quiet.test'),
        (err: unknown) =>
          err instanceof SipLocateError && err.code === 'ETIMEOUT' && !/took longer than/.test(err.message),
      );
      assert.equal(l.dns!.stats().timeouts, l.dns!.stats().udpAttempts, 'every attempt timed out');
      assert.ok(l.dns!.stats().udpAttempts <= 2 * 2 + 2, `one attempt per question: ${l.dns!.stats().udpAttempts}`);
    } finally {
      l.close();
    }
  });
});
