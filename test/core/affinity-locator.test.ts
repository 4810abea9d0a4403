// Affinity keys through the real locator, over real BIND data (test/zones/carriers.test.zone): the same key gets the
// same server on two instances without a store, a failed server moves only its own keys (spread over the others),
// sticky pins are per (destination, key) and bounded by maxPins, failback needs no pin, bad keys are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type CreateLocatorOptions, type SipLocator } from '../../src/core/locator';
import { isSipLocateError } from '../../src/core/errors';
import { MAX_AFFINITY_KEY } from '../../src/core/rfc3263/affinity';
import type { Target } from '../../src/core/types';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';
import { seeded } from '../rfc3263/seeded';

const POOL = 'sip:pool.carriers.test;transport=udp';
const HEAVY = 'sip:heavy.carriers.test;transport=udp';
const KEYS = Array.from({ length: 3000 }, (_, i) => `caller-${i}@example.org`);
const host = (t: Target): string => t.host;

describe('affinity keys through the locator', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  let now = 1_800_000_000_000;
  const clock = { now: () => now };
  const open: SipLocator[] = [];
  before(async () => {
    server = await startDnsServer('bind', {
      zones: [{ origin: 'carriers.test', file: zonePath('carriers.test.zone') }],
    });
  });
  after(async () => {
    for (const l of open) l.close();
    await server?.stop();
  });
  const make = (o: CreateLocatorOptions = {}): SipLocator => {
    const l = createLocator({ nameservers: [server.nameserver], clock, family: 'ipv4', affinity: 'key', ...o });
    open.push(l);
    return l;
  };
  const firsts = async (l: SipLocator, uri = POOL, keys = KEYS): Promise<string[]> => {
    await l.locate(uri);
    return keys.map((key) => host(l.locateCached(uri, { key })!.targets[0]!));
  };

  test('two locators without a store (different random sources) give every key the same whole order', async () => {
    const a = make({ random: seeded(1) });
    const b = make({ random: seeded(99) });
    await a.locate(POOL);
    await b.locate(POOL);
    for (const key of KEYS) {
      const x = a.locateCached(POOL, { key })!;
      const y = b.locateCached(POOL, { key })!;
      assert.deepEqual(x.targets.map(host), y.targets.map(host), key);
      assert.equal(x.affinityKey, key);
    }
    // Priority 20 stays after priority 10 for every key.
    assert.ok(
      KEYS.every((key) => host(a.locateCached(POOL, { key })!.targets.at(-1)!) === 'backup.pool.carriers.test'),
    );
  });

  test('six equal servers share 3000 keys evenly, and weights 30/10 share them 3:1 (within 3 %)', async () => {
    const l = make();
    const counts = new Map<string, number>();
    for (const h of await firsts(l)) counts.set(h, (counts.get(h) ?? 0) + 1);
    assert.equal(counts.size, 6);
    for (const [h, n] of counts) assert.ok(Math.abs(n / KEYS.length - 1 / 6) < 0.03, `${h}: ${n}`);
    const heavy = (await firsts(l, HEAVY)).filter((h) => h === 'h1.heavy.carriers.test').length / KEYS.length;
    assert.ok(Math.abs(heavy - 0.75) < 0.03, `h1 is first for ${heavy}`);
  });

  test('with affinity "destination" (the default) a key is checked but not used', async () => {
    const l = make({ affinity: 'destination', random: seeded(3) });
    const r = await l.locate(POOL, { key: 'alice' });
    assert.equal(r.affinityKey, undefined);
    await assert.rejects(l.locate(POOL, { key: 'a\nb' }), (e: unknown) => isSipLocateError(e, 'EINVALIDOPTION'));
  });

  for (const how of ['black mark', 'disable', 'probed down'] as const) {
    test(`a ${how} server moves only its own keys, spread over the other five (max/min <= 1.5)`, async () => {
      const l = make();
      const before = await firsts(l);
      const gone = before[0]!;
      const target = (await l.locate(POOL, { key: KEYS[0]! })).targets[0]!;
      if (how === 'black mark') l.markFailed(target, { reason: '503', retryAfter: 600 });
      else if (how === 'disable') l.setTargetState(target, 'disable');
      else for (let i = 0; i < 3; i++) l.probed(target, { alive: false, error: 'timeout' });
      const after = await firsts(l);
      const movedTo = new Map<string, number>();
      for (let i = 0; i < KEYS.length; i++) {
        if (before[i] !== gone) assert.equal(after[i], before[i], `${KEYS[i]} moved although its server is fine`);
        else {
          assert.notEqual(after[i], gone);
          movedTo.set(after[i]!, (movedTo.get(after[i]!) ?? 0) + 1);
        }
      }
      assert.equal(movedTo.size, 5);
      const spread = [...movedTo.values()];
      assert.ok(Math.max(...spread) / Math.min(...spread) <= 1.5, `moved keys spread ${spread.join(' ')}`);
    });
  }

  test("failover() with a key hands out the key's next server by hash, and a bad key is EINVALIDMSG", async () => {
    const l = make();
    const r = await l.locate(POOL, { key: 'bob' });
    const next = l.failover(
      { destination: r.destination, targets: r.targets, tried: [r.targets[0]!], key: 'bob' },
      { reason: 'timeout' },
    );
    assert.equal(next?.host, r.targets[1]!.host);
    assert.throws(
      () =>
        l.failover(
          {
            destination: r.destination,
            targets: r.targets,
            tried: [r.targets[0]!],
            key: 'x'.repeat(MAX_AFFINITY_KEY + 1),
          },
          { reason: 'timeout' },
        ),
      (e: unknown) => isSipLocateError(e, 'EINVALIDMSG'),
    );
  });

  test('sticky: a pin per (destination, key), shared names "destination#key", at most maxPins kept (LRU)', async () => {
    const l = make({ sticky: true, maxPins: 100 });
    await l.locate(POOL);
    for (const key of KEYS.slice(0, 300)) assert.equal(l.locateCached(POOL, { key })!.sticky, true);
    assert.equal(l.held().pins, 100);
    const pins = l
      .state()
      .pins.map((p) => p.destination)
      .sort();
    assert.deepEqual(
      pins,
      KEYS.slice(200, 300)
        .map((k) => `sip:pool.carriers.test;transport=udp#${k}`)
        .sort(),
    );
  });

  test('sticky keeps a moved key where it moved; failback gives it back when its server is usable, with no pin', async () => {
    const key = 'carol@example.org';
    for (const policy of ['sticky', 'failback'] as const) {
      const l = make({ sticky: true, pinPolicy: policy, greylistSeconds: 30 });
      const home = (await l.locate(POOL, { key })).targets[0]!;
      l.markFailed(home, { reason: 'transport' });
      const moved = (await l.locate(POOL, { key })).targets[0]!;
      assert.notEqual(moved.host, home.host);
      now += 31_000; // the grey mark lapses
      const back = (await l.locate(POOL, { key })).targets[0]!;
      if (policy === 'sticky') {
        assert.equal(back.host, moved.host, 'sticky: stays where it moved');
        assert.equal(l.pinnedTarget(l.locateCached(POOL)!.destination, key)?.host, moved.host);
      } else {
        assert.equal(back.host, home.host, 'failback: home again');
        assert.equal(l.held().pins, 0, 'failback with a key keeps no pins');
      }
    }
  });

  test("failoverFrom() with a key: the report names the key's server, the next one is the key's second", async () => {
    const l = make();
    const r = await l.locate(POOL, { key: 'dave' });
    const out = await l.failoverFrom(POOL, r.targets[0]!.key, { status: 503, key: 'dave' });
    assert.equal(out.target?.host, r.targets[1]!.host);
    assert.equal(out.affinityKey, 'dave');
    await assert.rejects(l.failoverFrom(POOL, r.targets[0]!.key, { status: 503, key: 'tab\there' }), (e: unknown) =>
      isSipLocateError(e, 'EINVALIDMSG'),
    );
  });

  test('keys are checked: control characters and over 256 characters are refused, 256 is accepted', async () => {
    const l = make();
    for (const key of ['a\u0000b', 'line\r\nbreak', 'x'.repeat(MAX_AFFINITY_KEY + 1)]) {
      await assert.rejects(
        l.locate(POOL, { key }),
        (e: unknown) => isSipLocateError(e, 'EINVALIDOPTION'),
        JSON.stringify(key.slice(0, 10)),
      );
    }
    const r = await l.locate(POOL, { key: 'x'.repeat(MAX_AFFINITY_KEY) });
    assert.equal(r.affinityKey?.length, MAX_AFFINITY_KEY);
  });

  test('a traced locate says why: hash rank 1, then failover past a grey server', async () => {
    const l = make();
    const first = await l.locate(POOL, { key: 'erin', trace: true });
    const note = (r: typeof first): string => r.trace!.children.at(-1)!.note!;
    assert.match(note(first), /hash rank 1 for the key "erin"/);
    l.markFailed(first.targets[0]!, { reason: 'timeout' });
    const second = await l.locate(POOL, { key: 'erin', trace: true });
    assert.match(
      note(second),
      new RegExp(`^Failover: udp:${second.targets[0]!.address.replace(/\./g, '\\.')}:5060 ranks 2 .*grey`),
    );
    const sticky = make({ sticky: true });
    await sticky.locate(POOL, { key: 'erin' });
    sticky.markFailed(first.targets[0]!, { reason: 'timeout' });
    await sticky.locate(POOL, { key: 'erin' }); // pins the key's second server
    now += 40_000; // the grey mark lapses: the hash would put the first server back, the pin keeps the second
    assert.match(
      note(await sticky.locate(POOL, { key: 'erin', trace: true })),
      /is the sticky server \(pin\) of .* for the key "erin"; by weighted rendezvous hashing .* it ranks 2/,
    );
  });
});
