// addressLookup: dns | system | dns-then-system with an injected OS resolver (NSD for DNS), plus one real hosts-file test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestLocator, type LocatorTestOptions } from '../../src/core/locator';
import { SipLocateError } from '../../src/core/errors';
import type { TraceNode } from '../../src/core/types';
import type { SystemLookup } from '../../src/core/system/lookup';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';
import { flatten, nsdWithProxy } from './harness';
import { startFakeDns, reply, type FakeDnsServer } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

/** An injected OS resolver: answers from a table and records each call. */
function fakeLookup(
  table: Record<string, Array<{ address: string; family: number }>>,
): SystemLookup & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (host: string, family: 0 | 4 | 6): Promise<Array<{ address: string; family: number }>> => {
    calls.push(`${host}/${family}`);
    const hit = table[host];
    if (!hit) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return hit.filter((a) => family === 0 || a.family === family);
  };
  return Object.assign(fn, { calls });
}

const systemNodes = (node: TraceNode | undefined): TraceNode[] => flatten(node).filter((n) => n.outcome === 'system');

describe('addressLookup against NSD serving example.test', { skip: skipUnless('nsd') }, () => {
  const served = nsdWithProxy([{ origin: 'example.test', file: zonePath('example.test.zone') }]);
  const locator = (lookup: SystemLookup, o: LocatorTestOptions = {}): ReturnType<typeof createTestLocator> =>
    createTestLocator({
      ...COUNTED,
      nameservers: [served.proxy.nameserver],
      transports: ['udp'],
      system: { lookup },
      ...o,
    });

  test('dns-then-system (default): NXDOMAIN for the host, the OS answers; source system, TTL systemTtl (30 s)', async () => {
    const lookup = fakeLookup({
      'lab.example.test': [
        { address: '192.0.2.5', family: 4 },
        { address: '2001:db8::5', family: 6 },
      ],
    });
    let now = 1_000_000;
    const l = locator(lookup, { clock: { now: () => now } });
    try {
      const r = await l.locate('sip:lab.example.test', { trace: true });
      assert.deepEqual(
        r.targets.map((t) => `${t.transport} ${t.address}:${t.port} ${t.source} ${t.ttl}`),
        ['udp 192.0.2.5:5060 system 30', 'udp 2001:db8::5:5060 system 30'],
      );
      assert.deepEqual(lookup.calls, ['lab.example.test/0']);
      const [node] = systemNodes(r.trace);
      assert.equal(node?.name, 'lab.example.test');
      assert.deepEqual(
        node?.records?.map((x) => `${x.type} ${x.data as string} ${x.ttl}`),
        ['A 192.0.2.5 30', 'AAAA 2001:db8::5 30'],
      );
      await l.locate('sip:lab.example.test'); // a traced locate (Try it) leaves the plan cache alone; a real one fills it
      now += 29_000;
      assert.ok(l.locateCached('sip:lab.example.test'), 'the plan is reused within systemTtl');
      now += 2_000;
      assert.equal(l.locateCached('sip:lab.example.test'), undefined, 'and not after it');
    } finally {
      l.close();
    }
  });

  test('systemTtl sets how long OS answers are used', async () => {
    const l = locator(fakeLookup({ 'lab.example.test': [{ address: '192.0.2.5', family: 4 }] }), { systemTtl: 5 });
    try {
      assert.equal((await l.locate('sip:lab.example.test')).targets[0]!.ttl, 5);
    } finally {
      l.close();
    }
    assert.throws(
      () => locator(fakeLookup({}), { systemTtl: -1 }),
      (err: unknown) => err instanceof SipLocateError && err.code === 'EINVALIDOPTION',
    );
    assert.throws(
      () => locator(fakeLookup({}), { addressLookup: 'mdns' as 'dns' }),
      (err: unknown) => err instanceof SipLocateError && err.code === 'EINVALIDOPTION',
    );
  });

  test('dns-then-system does not ask the OS when DNS has addresses', async () => {
    const lookup = fakeLookup({ 'sip1.example.test': [{ address: '192.0.2.99', family: 4 }] });
    const l = locator(lookup);
    try {
      const r = await l.locate('sip:example.test');
      assert.deepEqual(lookup.calls, []);
      assert.ok(r.targets.every((t) => t.source === 'naptr'));
    } finally {
      l.close();
    }
  });

  test("addressLookup 'dns' never asks the OS: ENOTFOUND", async () => {
    const lookup = fakeLookup({ 'lab.example.test': [{ address: '192.0.2.5', family: 4 }] });
    const l = locator(lookup, { addressLookup: 'dns' });
    try {
      await assert.rejects(
        l.locate('sip:lab.example.test'),
        (err: unknown) => err instanceof SipLocateError && err.code === 'ENOTFOUND',
      );
      assert.deepEqual(lookup.calls, []);
    } finally {
      l.close();
    }
  });

  test("addressLookup 'system': NAPTR and SRV from DNS, every address from the OS, no A/AAAA question sent", async () => {
    served.proxy.reset();
    const lookup = fakeLookup({
      'sip1.example.test': [{ address: '192.0.2.1', family: 4 }],
      'sip2.example.test': [{ address: '192.0.2.2', family: 4 }],
      'sip3.example.test': [],
    });
    const l = locator(lookup, { addressLookup: 'system', family: 'ipv4' });
    try {
      const r = await l.locate('sip:example.test');
      assert.deepEqual(r.targets.map((t) => `${t.address}:${t.port} ${t.source}`).sort(), [
        '192.0.2.1:5070 system',
        '192.0.2.2:5071 system',
      ]);
      assert.deepEqual(lookup.calls.sort(), ['sip1.example.test/4', 'sip2.example.test/4', 'sip3.example.test/4']);
      assert.ok(
        served.proxy.questions.every((q) => /^(NAPTR|SRV) /.test(q)),
        served.proxy.questions.join(', '),
      );
    } finally {
      l.close();
    }
  });

  test('OS look-ups count against maxQueriesPerLocate', async () => {
    const lookup = fakeLookup({
      'sip1.example.test': [{ address: '192.0.2.1', family: 4 }],
      'sip2.example.test': [{ address: '192.0.2.2', family: 4 }],
    });
    // NAPTR and SRV _sip._udp.example.test use 2 of the 3 questions; one OS look-up is left.
    const l = locator(lookup, { addressLookup: 'system', family: 'ipv4', maxQueriesPerLocate: 3 });
    try {
      const r = await l.locate('sip:example.test');
      assert.equal(lookup.calls.length, 1, lookup.calls.join(', '));
      assert.equal(r.targets.length, 1);
    } finally {
      l.close();
    }
  });

  test('the OS answer is checked: junk and scoped addresses are dropped, the family policy applies', async () => {
    const lookup: SystemLookup = async () => [
      { address: 'not-an-ip', family: 4 },
      { address: 'fe80::1%eth0', family: 6 },
      { address: '192.0.2.8', family: 4 },
      { address: '2001:db8::8', family: 6 },
    ];
    const l = locator(lookup, { family: 'ipv6' });
    try {
      assert.deepEqual(
        (await l.locate('sip:lab.example.test')).targets.map((t) => t.address),
        ['2001:db8::8'],
      );
    } finally {
      l.close();
    }
  });
});

describe('no nameserver known', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sip-nons-'));
    writeFileSync(join(dir, 'resolv.conf'), 'search example.invalid\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('dns-then-system locates through the OS alone; dns fails with ENONAMESERVER', async () => {
    const lookup = fakeLookup({ pbx: [{ address: '192.0.2.30', family: 4 }] });
    const system = { resolvConfPath: join(dir, 'resolv.conf'), getServers: (): string[] => [], lookup };
    const l = createTestLocator({ system, transports: ['udp', 'tcp'] });
    try {
      assert.equal(l.dns, undefined);
      const r = await l.locate('sip:pbx');
      assert.deepEqual(
        r.targets.map((t) => `${t.transport} ${t.address}:${t.port} ${t.source}`),
        ['udp 192.0.2.30:5060 system'],
      );
      assert.deepEqual(
        lookup.calls,
        ['pbx.example.invalid/0', 'pbx/0'],
        'the search list applies to the OS look-up too',
      );
    } finally {
      l.close();
    }
    assert.throws(
      () => createTestLocator({ system, addressLookup: 'dns' }),
      (err: unknown) => err instanceof SipLocateError && err.code === 'ENONAMESERVER',
    );
  });
});

describe('DNS failures are not handed to the OS', () => {
  let fake: FakeDnsServer;
  before(async () => {
    fake = await startFakeDns((q) => [reply(q, { rcode: q.type === 'A' || q.type === 'AAAA' ? 2 : 3 })]);
  });
  after(async () => fake?.stop());

  test('SERVFAIL for A/AAAA: ESERVFAIL, the OS is not asked', async () => {
    const lookup = fakeLookup({ 'broken.test': [{ address: '192.0.2.40', family: 4 }] });
    const l = createTestLocator({
      ...COUNTED,
      nameservers: [fake.nameserver],
      transports: ['udp'],
      tries: 1,
      timeoutMs: 500,
      system: { lookup },
    });
    try {
      await assert.rejects(
        l.locate('sip:broken.test'),
        (err: unknown) => err instanceof SipLocateError && err.code === 'ESERVFAIL',
      );
      assert.deepEqual(lookup.calls, []);
    } finally {
      l.close();
    }
  });
});

/** The skip reason for the hosts-file test, or false; under CI=true a read-only /etc/hosts fails instead. */
function hostsSkip(): string | false {
  try {
    accessSync('/etc/hosts', constants.W_OK);
    return false;
  } catch {
    const msg = '/etc/hosts is not writable by this user; run the tests as root (as CI does) to test the hosts file';
    if (process.env.CI === 'true') throw new Error(`CI: ${msg}`);
    return msg;
  }
}

describe('the real hosts file through dns.lookup', { skip: skipUnless('nsd') || hostsSkip() }, () => {
  let server: RunningDnsServer;
  before(async () => {
    server = await startDnsServer('nsd', { zones: [{ origin: 'example.test', file: zonePath('example.test.zone') }] });
  });
  after(async () => server?.stop());

  test('a name DNS does not know (NXDOMAIN) but /etc/hosts lists is located with source system', async () => {
    const name = `hosts-${randomBytes(6).toString('hex')}.example.test`;
    const line = `127.0.77.77 ${name}`;
    writeFileSync('/etc/hosts', `${readFileSync('/etc/hosts', 'utf8').replace(/\n?$/, '\n')}${line}\n`);
    const l = createTestLocator({ nameservers: [server.nameserver], transports: ['udp'], family: 'ipv4' });
    try {
      const r = await l.locate(`sip:${name}`);
      assert.deepEqual(
        r.targets.map((t) => `${t.address}:${t.port} ${t.source} ${t.host}`),
        [`127.0.77.77:5060 system ${name}`],
      );
    } finally {
      l.close();
      const now = readFileSync('/etc/hosts', 'utf8');
      writeFileSync(
        '/etc/hosts',
        now
          .split('\n')
          .filter((x) => x !== line)
          .join('\n'),
      );
    }
    assert.ok(!readFileSync('/etc/hosts', 'utf8').includes(name), 'the line was removed');
  });
});
