// Destination sets (`set:NAME`) through the real locator over real NSD data (test/zones/carriers.test.zone): members in
// set priority order, each in its own RFC 3263 order; shared by weight; failover from member to member; a failing
// member skipped with its error; ESETFAILED when all fail; pins and marks per set; bad sets refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type CreateLocatorOptions, type SipLocator } from '../../src/core/locator';
import { isSipLocateError, SipLocateError } from '../../src/core/errors';
import { MAX_SET_MEMBERS, MAX_SETS, readSets } from '../../src/core/sets';
import type { Target } from '../../src/core/types';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';
import { seeded } from '../rfc3263/seeded';

const A = 'carrier-a.carriers.test';
const B = 'carrier-b.carriers.test';
const carrier = (t: Target): string => t.host.split('.').slice(1).join('.');

describe('destination sets', { skip: skipUnless('nsd') }, () => {
  let server: RunningDnsServer;
  const open: SipLocator[] = [];
  before(async () => {
    server = await startDnsServer('nsd', {
      zones: [{ origin: 'carriers.test', file: zonePath('carriers.test.zone') }],
    });
  });
  after(async () => {
    for (const l of open) l.close();
    await server?.stop();
  });
  const make = (o: CreateLocatorOptions = {}): SipLocator => {
    const l = createLocator({
      nameservers: [server.nameserver],
      family: 'ipv4',
      transports: ['udp'],
      random: seeded(7),
      affinity: 'key',
      sets: {
        carriers: [{ uri: A }, { uri: `sip:${B}` }],
        shared: [
          { uri: A, priority: 1, weight: 3 },
          { uri: B, priority: 1, weight: 1 },
        ],
        even: [
          { uri: A, priority: 1, weight: 1 },
          { uri: B, priority: 1, weight: 1 },
        ],
        halfbroken: [
          { uri: 'nope.carriers.test', priority: 1 },
          { uri: B, priority: 2 },
        ],
        broken: [{ uri: 'nope.carriers.test' }, { uri: 'sip:gone.carriers.test;transport=udp' }],
        phone: [{ uri: 'tel:+49-30-1234567' }, { uri: A }],
      },
      // No ENUM zone is served: the number goes to the fallback gateway, carrier B.
      enumSuffixes: ['e164.carriers.test'],
      enumFallback: `sip:{number}@${B}`,
      ...o,
    });
    open.push(l);
    return l;
  };

  test("set:carriers lists carrier A's three servers, then carrier B's; the destination is the set", async () => {
    const r = await make().locate('set:carriers');
    assert.equal(r.destination, 'set:carriers');
    assert.deepEqual(
      r.targets.map(carrier),
      [A, A, A, B, B, B].map((d) => `carrier-${d.at(8)}.carriers.test`),
    );
    assert.deepEqual(
      r.members?.map((m) => [m.uri, m.targets]),
      [
        [`sip:${A}`, 3],
        [`sip:${B}`, 3],
      ],
    );
  });

  test("with a key, each member's servers are in the key's hash order, the same on a second locator", async () => {
    const x = make({ random: seeded(1) });
    const y = make({ random: seeded(2) });
    for (const key of ['alice', 'bob', 'carol', 'dave']) {
      const rx = await x.locate('set:carriers', { key });
      const ry = await y.locate('set:carriers', { key });
      assert.deepEqual(
        rx.targets.map((t) => t.host),
        ry.targets.map((t) => t.host),
      );
      assert.deepEqual(rx.targets.map(carrier), [A, A, A, B, B, B]);
      assert.equal(rx.affinityKey, key);
    }
  });

  test('members of one priority share keys by weight: 3:1 over 2000 keys (within 3 %)', async () => {
    const l = make();
    await l.locate('set:shared');
    let fromA = 0;
    for (let i = 0; i < 2000; i++)
      if (carrier(l.locateCached('set:shared', { key: `k${i}` })!.targets[0]!) === A) fromA++;
    assert.ok(Math.abs(fromA / 2000 - 0.75) < 0.03, `A first for ${fromA} of 2000`);
  });

  test("with a key, equal-priority members pool their servers: a failed server's keys spread over all five others", async () => {
    const l = make();
    await l.locate('set:even');
    const KEYS = 6000;
    const first = (key: string): string => l.locateCached('set:even', { key })!.targets[0]!.host;
    const before = new Map<string, string>();
    const shares = new Map<string, number>();
    for (let i = 0; i < KEYS; i++) {
      const host = first(`k${i}`);
      before.set(`k${i}`, host);
      shares.set(host, (shares.get(host) ?? 0) + 1);
    }
    assert.equal(shares.size, 6, 'all six servers of both carriers are first for some keys');
    for (const [host, n] of shares)
      assert.ok(Math.abs(n / KEYS - 1 / 6) < 0.03, `${host} first for ${n} of ${KEYS} (within 3 %)`);
    const a1 = (await l.locate('set:even', { key: 'k0' })).targets.find((t) => t.host === `a1.${A}`)!;
    l.markFailed(a1, { reason: 'timeout' });
    const moved = new Map<string, number>();
    for (const [key, was] of before) {
      const now = first(key);
      if (was !== a1.host) assert.equal(now, was, `${key} moved from ${was}, which did not fail`);
      else moved.set(now, (moved.get(now) ?? 0) + 1);
    }
    assert.deepEqual(
      [...moved.keys()].sort(),
      [`a2.${A}`, `a3.${A}`, `b1.${B}`, `b2.${B}`, `b3.${B}`],
      "a1's keys go to both carriers",
    );
    const counts = [...moved.values()];
    assert.ok(Math.max(...counts) / Math.min(...counts) <= 1.5, `moved ${JSON.stringify([...moved])}`);
  });

  test("with a key, a member's backup tier still comes before the next set priority", async () => {
    const l = make({
      sets: {
        tiers: [
          { uri: 'pool.carriers.test', priority: 1 },
          { uri: A, priority: 1 },
          { uri: B, priority: 2 },
        ],
      },
    });
    const r = await l.locate('set:tiers', { key: 'zoe' });
    const hosts = r.targets.map((t) => t.host);
    assert.equal(hosts.length, 13);
    assert.deepEqual(
      hosts
        .slice(0, 9)
        .map((h) => h.split('.')[1])
        .sort(),
      [...Array<string>(3).fill('carrier-a'), ...Array<string>(6).fill('pool')],
      'the first tiers of both priority-1 members, pooled',
    );
    assert.equal(hosts[9], 'backup.pool.carriers.test', "pool's SRV priority 20 before carrier B (set priority 2)");
    assert.deepEqual(
      hosts.slice(10).map((h) => h.split('.')[1]),
      ['carrier-b', 'carrier-b', 'carrier-b'],
    );
  });

  test("failover walks from carrier A to carrier B once A's servers have failed", async () => {
    const l = make();
    const r = await l.locate('set:carriers', { key: 'erin' });
    const tried: Target[] = [r.targets[0]!];
    for (let i = 0; i < 3; i++) {
      const next = l.failover(
        { destination: r.destination, targets: r.targets, tried, key: 'erin' },
        { reason: 'timeout' },
      );
      assert.ok(next);
      tried.push(next);
    }
    assert.deepEqual(tried.map(carrier), [A, A, A, B]);
    // The marks hold for the next message too: carrier B first.
    assert.equal(carrier((await l.locate('set:carriers', { key: 'erin' })).targets[0]!), B);
  });

  test('a tel: member goes through ENUM (here its fallback) and then RFC 3263; its targets come first', async () => {
    const r = await make().locate('set:phone', { trace: true });
    assert.deepEqual(r.targets.map(carrier), [B, B, B, A, A, A]);
    assert.deepEqual(
      r.members?.map((m) => [m.uri, m.destination, m.targets]),
      [
        ['tel:+49-30-1234567', `sip:${B}`, 3],
        [`sip:${A}`, `sip:${A}`, 3],
      ],
    );
    assert.equal(r.trace!.children[0]!.name, 'tel:+49-30-1234567', "the member's tree starts with its ENUM step");
  });

  test('probing a set probes every target of its SIP members (a failing member gives none)', async () => {
    const l = make();
    assert.deepEqual((await l.probeTargets('set:carriers')).map(carrier), [A, A, A, B, B, B]);
    assert.deepEqual((await l.probeTargets('set:halfbroken')).map(carrier), [B, B, B]);
    await assert.rejects(l.probeTargets('set:nosuch'), (e: unknown) => isSipLocateError(e, 'EINVALIDURI'));
  });

  test('a member that does not resolve is skipped with its error in members and the trace', async () => {
    const r = await make().locate('set:halfbroken', { trace: true });
    assert.deepEqual(r.targets.map(carrier), [B, B, B]);
    assert.equal(r.members?.[0]?.error?.code, 'ENOTFOUND');
    const skipped = r.trace!.children.find((c) => c.outcome === 'error');
    assert.match(skipped!.note!, /nope\.carriers\.test .* is skipped/);
  });

  test("a set fails only when every member fails: ESETFAILED naming each member's code", async () => {
    await assert.rejects(make().locate('set:broken'), (e: unknown) => {
      assert.ok(isSipLocateError(e, 'ESETFAILED'));
      assert.deepEqual(e.details.members, [
        { uri: 'sip:nope.carriers.test', code: 'ENOTFOUND' },
        { uri: 'sip:gone.carriers.test;transport=udp', code: 'ENOTFOUND' },
      ]);
      return true;
    });
  });

  test('sticky: one pin for the set (per key with a key), and failoverFrom() reports per set', async () => {
    const l = make({ sticky: true });
    const r = await l.locate('set:carriers');
    assert.equal(r.sticky, true);
    await l.locate('set:carriers', { key: 'frank' });
    assert.deepEqual(
      l
        .state()
        .pins.map((p) => p.destination)
        .sort(),
      ['set:carriers', 'set:carriers#frank'],
    );
    const out = await l.failoverFrom('set:carriers', r.targets[0]!.key, { status: 503 });
    assert.equal(out.destination, 'set:carriers');
    // The next server is another of carrier A (the draw among equal weights is random), and it takes the set's pin.
    assert.equal(carrier(out.target!), A);
    assert.notEqual(out.target?.key, r.targets[0]!.key);
    assert.equal(l.pinnedTarget('set:carriers')?.key, out.target?.key);
  });

  test('an unknown set is EINVALIDURI; bad sets are EINVALIDOPTION at createLocator()', async () => {
    await assert.rejects(make().locate('set:nosuch'), (e: unknown) => isSipLocateError(e, 'EINVALIDURI'));
    const bad = (sets: unknown): void =>
      assert.throws(
        () => readSets(sets),
        (e: unknown) => isSipLocateError(e, 'EINVALIDOPTION'),
        JSON.stringify(sets).slice(0, 60),
      );
    bad([]);
    bad({ 'bad name': [{ uri: A }] });
    bad({ s: [] });
    bad({ s: Array.from({ length: MAX_SET_MEMBERS + 1 }, () => ({ uri: A })) });
    bad({ s: [{ uri: 'sip:' }] });
    bad({ s: [{ uri: A, weight: 70000 }] });
    bad(Object.fromEntries(Array.from({ length: MAX_SETS + 1 }, (_, i) => [`s${i}`, [A]])));
    assert.equal(readSets({ s: Array.from({ length: MAX_SET_MEMBERS }, () => A) }).get('s')?.length, MAX_SET_MEMBERS);
    assert.equal(
      readSets(Object.fromEntries(Array.from({ length: MAX_SETS }, (_, i) => [`s${i}`, [A]]))).size,
      MAX_SETS,
    );
    assert.deepEqual(readSets({ s: ['a.example.com', { uri: 'tel:+4930123', priority: '5', weight: 0 }] }).get('s'), [
      { uri: 'sip:a.example.com', priority: 1, weight: 1 },
      { uri: 'tel:+4930123', priority: 5, weight: 0 },
    ]);
  });
});
