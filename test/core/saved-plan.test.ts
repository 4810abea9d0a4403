// A destination's last good plan: reported through the change feed (coalesced, bounded), and routed from with
// stale: true when DNS gives no answer and the DNS client has nothing, not even stale data (RFC 8767 across restarts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLocator } from '../../src/core/locator';
import type { PlanRecord, StateChange } from '../../src/core/types';
import { createContextStore, CONTEXT_KEY, type ContextLike } from '../../src/store/context';
import { MAX_PLAN_ENTRIES, readChange, readPlan } from '../../src/store/records';
import { MAX_PLAN_BYTES, MAX_PLAN_NAMES, planRecordBytes } from '../../src/core/rfc3263/plan-record';
import { LOCATOR_OPTIONS } from '../../src/core/locator/options';
const DEFAULT_STALE_BYTES = LOCATOR_OPTIONS.staleBytes.default;
import { createClient } from '@redis/client';
import { linkStore } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { until } from '../support/wait';
import { reply, soa, startFakeDns, type FakeDnsServer, type FakeQuery } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

type Mode = 'up' | 'servfail';

describe('last good plans', () => {
  const dns = { mode: 'up' as Mode, ttl: 60, server: undefined as unknown as FakeDnsServer };
  before(async () => {
    dns.server = await startFakeDns((q: FakeQuery) => {
      if (dns.mode === 'servfail') return [reply(q, { rcode: 2 })];
      const name = q.name.toLowerCase();
      const m = /^_sip\._udp\.(d\d+)\.example\.test$/.exec(name);
      if (q.type === 'SRV' && m)
        return [
          reply(q, {
            answers: [
              {
                type: 'SRV',
                name: q.name,
                ttl: dns.ttl,
                data: { priority: 10, weight: 0, port: 5070, target: `a.${m[1]}.example.test` },
              },
            ],
          }),
        ];
      if (q.type === 'A' && /^a\.d\d+\.example\.test$/.test(name))
        return [reply(q, { answers: [{ type: 'A', name: q.name, ttl: dns.ttl, data: '127.0.0.91' }] })];
      return [reply(q, { authorities: [soa('example.test', 60, 60)] })];
    });
  });
  after(async () => {
    await dns.server.stop();
  });
  const options = {
    ...COUNTED,
    transports: ['udp' as const],
    family: 'ipv4' as const,
    timeoutMs: 200,
    tries: 1,
    dns0x20: false,
  };

  test('a fresh plan is reported once; another instance routes from it with stale: true while DNS fails, [stale] in the trace; fresh again when DNS answers', async () => {
    dns.mode = 'up';
    let now = 1_000_000;
    const a = createLocator({ ...options, nameservers: [dns.server.nameserver], clock: { now: () => now } });
    const seen: StateChange[] = [];
    a.onChange((c) => seen.push(c));
    const first = await a.locate('sip:d1.example.test');
    assert.equal(first.stale, false);
    const plans = seen.filter((c): c is Extract<StateChange, { op: 'plan' }> => c.op === 'plan');
    assert.equal(plans.length, 1);
    const record = plans[0]!.plan;
    assert.deepEqual(
      [record.destination, record.savedAt, record.expiresAt],
      [first.destination, now, now + 86_400_000],
    );
    assert.deepEqual(a.savedPlans(), [record]);
    // Through JSON and the validator, as a store hands it back.
    const back = readPlan(JSON.parse(JSON.stringify(record)));
    assert.deepEqual(back, record);

    dns.mode = 'servfail';
    const b = createLocator({ ...options, nameservers: [dns.server.nameserver], clock: { now: () => now } });
    await assert.rejects(
      b.locate('sip:d1.example.test'),
      { code: 'ESERVFAIL' },
      'without a saved plan an outage fails',
    );
    b.apply({ op: 'plan', plan: back });
    const during = await b.locate('sip:d1.example.test');
    assert.equal(during.stale, true);
    assert.deepEqual(
      during.targets.map((t) => [t.address, t.port, t.ttl]),
      [['127.0.0.91', 5070, 30]],
    );
    const traced = await b.locate('sip:d1.example.test', { trace: true });
    assert.equal(traced.stale, true);
    const note = traced.trace!.children[0]!;
    assert.deepEqual([traced.trace!.outcome, note.kind, note.outcome], ['stale', 'note', 'stale'], 'shown as [stale]');
    assert.match(note.note!, /^DNS gave no answer \(ESERVFAIL\); the last good plan, saved .*, is used/);
    const asked = dns.server.queries.length;
    assert.equal((await b.locate('sip:d1.example.test')).stale, true);
    assert.equal(dns.server.queries.length, asked, 'the plan from the saved record is reused for its 30 s');
    assert.deepEqual(b.savedPlans(), [back], 'a plan read back is not reported again');

    dns.mode = 'up';
    now += 31_000;
    const fresh = await b.locate('sip:d1.example.test');
    assert.equal(fresh.stale, false, 'a fresh answer replaces it');
    assert.equal(b.savedPlans()[0]!.savedAt, now);
    a.close();
    b.close();
  });

  test('reported at most once a minute while unchanged, at once when it changes; at most cacheSize destinations kept (LRU)', async () => {
    dns.mode = 'up';
    dns.ttl = 1;
    let now = 5_000_000;
    const l = createLocator({
      ...options,
      nameservers: [dns.server.nameserver],
      clock: { now: () => now },
      cacheSize: 3,
    });
    const written: PlanRecord[] = [];
    l.onChange((c) => {
      if (c.op === 'plan') written.push(c.plan);
    });
    await l.locate('sip:d2.example.test');
    for (let i = 0; i < 5; i++) {
      now += 2000; // past the TTL: the plan is built again
      l.dns!.clearCache();
      await l.locate('sip:d2.example.test');
    }
    assert.equal(written.length, 1, 'rebuilt five times within a minute, reported once');
    now += 60_000;
    l.dns!.clearCache();
    await l.locate('sip:d2.example.test');
    assert.equal(written.length, 2, 'a minute later it is reported again');
    for (const d of ['d3', 'd4', 'd5']) await l.locate(`sip:${d}.example.test`);
    assert.deepEqual(
      l.savedPlans().map((p) => p.destination.match(/d\d/)![0]),
      ['d3', 'd4', 'd5'],
      'the least recently built is dropped',
    );
    dns.ttl = 60;
    l.close();
  });

  test('a store plan with a far-future savedAt is clamped to when it arrived: the next honest update replaces it', async () => {
    dns.mode = 'servfail';
    let now = 7_000_000;
    const l = createLocator({ ...options, nameservers: [dns.server.nameserver], clock: { now: () => now } });
    const poisoned: PlanRecord = {
      ...GOOD,
      destination: 'sip:d20.example.test',
      savedAt: now + 365 * 86_400_000,
      expiresAt: now + 86_400_000,
    };
    l.apply({ op: 'plan', plan: poisoned });
    assert.equal(l.savedPlans()[0]!.savedAt, now);
    now += 1000;
    const honest: PlanRecord = {
      ...GOOD,
      destination: 'sip:d20.example.test',
      entries: [GOOD.entries[1]!],
      savedAt: now,
      expiresAt: now + 86_400_000,
    };
    l.apply({ op: 'plan', plan: honest });
    assert.deepEqual(
      l.savedPlans().map((p) => [p.savedAt, p.entries.length]),
      [[now, 1]],
    );
    l.close();
  });

  test("a plan from the store never replaces this instance's own plan while its DNS data is fresh", async () => {
    dns.mode = 'up';
    let now = 8_000_000;
    const l = createLocator({ ...options, nameservers: [dns.server.nameserver], clock: { now: () => now } });
    const r = await l.locate('sip:d21.example.test');
    const own = l.savedPlans()[0]!;
    now += 1000;
    l.apply({ op: 'plan', plan: { ...GOOD, destination: r.destination, savedAt: now, expiresAt: now + 60_000 } });
    assert.deepEqual(l.savedPlans(), [own]);
    now += 61_000; // the own plan's DNS data (TTL 60) expired: a newer plan from the store is taken
    l.apply({ op: 'plan', plan: { ...GOOD, destination: r.destination, savedAt: now, expiresAt: now + 60_000 } });
    assert.equal(l.savedPlans()[0]!.savedAt, now);
    l.close();
  });

  test('staleBytes bounds the plans kept in bytes; a plan above the per-plan bound is not kept', () => {
    const now = Date.now();
    const plan = (i: number): PlanRecord => ({
      ...GOOD,
      destination: `sip:p${i}.example.test`,
      savedAt: now,
      expiresAt: now + 60_000,
    });
    const each = planRecordBytes(plan(10));
    const l = createLocator({ ...options, nameservers: [dns.server.nameserver], staleBytes: each * 10 });
    for (let i = 10; i < 60; i++) l.apply({ op: 'plan', plan: plan(i) });
    assert.deepEqual(
      l.savedPlans().map((p) => p.destination),
      Array.from({ length: 10 }, (_, k) => `sip:p${50 + k}.example.test`),
    );
    l.close();
  });

  test('staleSeconds 0: no plan is kept, reported or taken from a store', async () => {
    dns.mode = 'up';
    const l = createLocator({ ...options, nameservers: [dns.server.nameserver], staleSeconds: 0 });
    const seen: StateChange[] = [];
    l.onChange((c) => seen.push(c));
    const r = await l.locate('sip:d6.example.test');
    assert.deepEqual(seen, []);
    l.apply({
      op: 'plan',
      plan: {
        destination: r.destination,
        entries: [
          {
            kind: 'address',
            transport: 'udp',
            source: 'address',
            host: 'x',
            port: 5060,
            addrs: { host: 'x', v4: ['127.0.0.5'], v6: [], ttl: 60 },
          },
        ],
        ttl: 60,
        savedAt: Date.now(),
        expiresAt: Date.now() + 60_000,
      },
    });
    assert.deepEqual(l.savedPlans(), []);
    l.close();
  });
});

const GOOD: PlanRecord = {
  destination: 'sip:pbx.example.test',
  entries: [
    {
      kind: 'srv',
      transport: 'udp',
      source: 'srv',
      srv: [{ priority: 10, weight: 5, port: 5060, target: 'a.example.test' }],
      hosts: [{ host: 'a.example.test', v4: ['192.0.2.1'], v6: ['2001:db8::1'], ttl: 60 }],
    },
    {
      kind: 'address',
      transport: 'tcp',
      source: 'address',
      host: 'pbx.example.test',
      port: 5060,
      addrs: { host: 'pbx.example.test', v4: ['192.0.2.2'], v6: [], ttl: 30, system: true },
    },
  ],
  ttl: 30,
  savedAt: 1000,
  expiresAt: 2000,
};

/** An SRV entry of 64 records and 64 hosts, each a 255-character name (the largest readPlan's field checks allow). */
function maximalEntry(e: number): Record<string, unknown> {
  const name = (i: number): string => `${e}-${i}-`.padEnd(253, 'x') + '.t';
  return {
    kind: 'srv',
    transport: 'udp',
    source: 'srv',
    srv: Array.from({ length: 64 }, (_, i) => ({ priority: i, weight: 0, port: 5060, target: name(i) })),
    hosts: Array.from({ length: 64 }, (_, i) => ({ host: name(i), v4: [], v6: [], ttl: 60 })),
  };
}

test('the per-plan bounds: names and bytes', () => {
  assert.equal(MAX_PLAN_NAMES, 512);
  assert.equal(MAX_PLAN_BYTES, 65536);
  const four = {
    ...GOOD,
    entries: Array.from({ length: 4 }, (_, e) => ({ ...maximalEntry(e), hosts: [] })),
  } as unknown as PlanRecord;
  assert.ok(planRecordBytes(four) > MAX_PLAN_BYTES && JSON.stringify(four).length > MAX_PLAN_BYTES);
});

test('readPlan takes a valid record and rejects each bad field', () => {
  assert.deepEqual(readPlan(GOOD), GOOD);
  assert.equal(readPlan(GOOD, 5000)?.expiresAt, 5000, 'the expiry can be rebased');
  const bad = (edit: (p: Record<string, unknown> & { entries: Array<Record<string, unknown>> }) => void): unknown => {
    const copy = structuredClone(GOOD) as unknown as Record<string, unknown> & {
      entries: Array<Record<string, unknown>>;
    };
    edit(copy);
    return copy;
  };
  const cases: unknown[] = [
    null,
    'plan',
    [],
    {},
    bad((p) => {
      p.destination = '';
    }),
    bad((p) => {
      p.entries = [];
    }),
    bad((p) => {
      p.ttl = -1;
    }),
    bad((p) => {
      p.savedAt = 'now';
    }),
    bad((p) => {
      p.entries[0]!.transport = 'carrier-pigeon';
    }),
    bad((p) => {
      p.entries[0]!.kind = 'naptr';
    }),
    bad((p) => {
      (p.entries[0]!.srv as Array<Record<string, unknown>>)[0]!.port = 0;
    }),
    bad((p) => {
      (p.entries[0]!.srv as Array<Record<string, unknown>>)[0]!.priority = 70000;
    }),
    bad((p) => {
      (p.entries[0]!.hosts as Array<Record<string, unknown>>)[0]!.v4 = ['2001:db8::1'];
    }),
    bad((p) => {
      (p.entries[0]!.hosts as Array<Record<string, unknown>>)[0]!.v6 = ['not an address'];
    }),
    bad((p) => {
      (p.entries[1]!.addrs as Record<string, unknown>).system = 'yes';
    }),
    bad((p) => {
      p.entries[1]!.port = 65536;
    }),
    bad((p) => {
      p.entries[1]!.source = 'srv';
    }),
    bad((p) => {
      p.entries = Array.from({ length: MAX_PLAN_ENTRIES + 1 }, () => p.entries[1]!);
    }),
    bad((p) => {
      (p.entries[0]!.hosts as Array<Record<string, unknown>>)[0]!.v4 = Array.from(
        { length: 33 },
        (_, i) => `192.0.2.${i}`,
      );
    }),
    bad((p) => {
      p.entries = Array.from({ length: 32 }, () => ({
        ...p.entries[1]!,
        addrs: { host: 'h', v4: Array.from({ length: 32 }, (_, i) => `192.0.2.${i}`), v6: ['::1'], ttl: 1 },
      }));
    }),
    // The audit's maximal plan: 32 entries of 64 SRV records and 64 hosts with 255-character names (1.5 MB of heap).
    bad((p) => {
      p.entries = Array.from({ length: 32 }, (_, e) => maximalEntry(e));
    }),
    // Within the name bound, over the byte bound: 8 entries of 64 SRV records with long names.
    bad((p) => {
      p.entries = Array.from({ length: 4 }, (_, e) => ({ ...maximalEntry(e), hosts: [] }));
    }),
  ];
  for (const c of cases) assert.equal(readPlan(c), undefined, JSON.stringify(c)?.slice(0, 200));
  assert.deepEqual(readChange({ op: 'plan', plan: GOOD }), { op: 'plan', plan: GOOD });
  assert.equal(readChange({ op: 'plan', plan: { ...GOOD, entries: 'x' } }), undefined);
});

test('property: readPlan never throws on arbitrary input, and what it accepts survives JSON unchanged', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.anything(),
        fc.jsonValue(),
        fc.constant(GOOD).map((g) => ({ ...g, ttl: -1 })),
      ),
      (v) => {
        const plan = readPlan(v);
        if (plan) assert.deepEqual(readPlan(JSON.parse(JSON.stringify(plan))), plan);
      },
    ),
    { numRuns: 2000 },
  );
});

test('a context store reads saved plans back, counting invalid ones and leaving out expired ones', async () => {
  const now = 10_000;
  const data = new Map<string, unknown>([
    [
      CONTEXT_KEY,
      {
        v: 1,
        savedAt: 1,
        marks: [],
        pins: [],
        plans: [
          { ...GOOD, expiresAt: now + 1 },
          { ...GOOD, destination: 'sip:old.test', expiresAt: now - 1 },
          { garbage: true },
          42,
        ],
      },
    ],
  ]);
  const context: ContextLike = {
    get: (key, _s, cb) => setImmediate(() => cb(null, data.get(key))),
    set: (key, value, _s, cb) =>
      setImmediate(() => {
        data.set(key, JSON.parse(JSON.stringify(value)));
        cb(null);
      }),
  };
  const store = createContextStore(context, {
    snapshot: () => ({ marks: [], pins: [], plans: [GOOD] }),
    clock: { now: () => now },
  });
  let invalid = 0;
  store.start({ up: () => undefined, down: () => undefined, remote: () => undefined, invalid: () => invalid++ });
  const read: PlanRecord[] = [];
  await store.load((batch) => read.push(...(batch.plans ?? [])));
  assert.deepEqual(
    read.map((p) => p.destination),
    [GOOD.destination],
  );
  assert.equal(invalid, 2);
  await store.flush();
  assert.deepEqual((data.get(CONTEXT_KEY) as { plans: PlanRecord[] }).plans, [GOOD], "the snapshot's plans are saved");
  await store.close();
});

describe('hostile plans from a second writer through a real redis-server', { skip: skipUnlessRedis() }, () => {
  let redis: RunningRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  /** A plan of 3 entries of 64 SRV records with 255-character names (just under MAX_PLAN_BYTES), or 32 entries with hosts (1.5 MB). */
  function maximal(i: number, savedAt: number, oversized: boolean): PlanRecord {
    const plan = {
      destination: `sip:victim${i}.example`,
      entries: Array.from({ length: oversized ? 32 : 3 }, (_, e) => maximalEntry(1000 * i + e)),
      ttl: 60,
      savedAt,
      expiresAt: savedAt + 3_600_000,
    } as unknown as PlanRecord;
    if (!oversized) for (const e of plan.entries) if (e.kind === 'srv') e.hosts = [];
    return plan;
  }

  test('300 maximal plans and 10 oversized ones: held within staleBytes, the oversized refused, a far-future savedAt clamped', async () => {
    const writer = createClient({ url: redis.url });
    await writer.connect();
    const locator = createLocator({ nameservers: ['127.0.0.1:9'], staleSeconds: 86400 });
    const link = linkStore(locator, createRedisStore({ url: redis.url, prefix: 'hostile' }));
    try {
      await until(() => link.status().state === 'up', 'up');
      const now = Date.now();
      const future = now + 365 * 86_400_000;
      const plans = [
        ...Array.from({ length: 300 }, (_, i) => maximal(i, future, false)),
        ...Array.from({ length: 10 }, (_, i) => maximal(500 + i, future, true)),
      ];
      assert.ok(planRecordBytes(plans[0]!) <= MAX_PLAN_BYTES);
      const last: PlanRecord = { ...GOOD, destination: 'sip:last.example', savedAt: now, expiresAt: now + 3_600_000 };
      for (const plan of [...plans, last]) {
        await writer.sendCommand([
          'PUBLISH',
          'hostile:changes',
          JSON.stringify({ from: 'writer', changes: [{ ttl: 3_600_000, change: { op: 'plan', plan } }] }),
        ]);
      }
      await until(() => locator.savedPlans().some((p) => p.destination === last.destination), 'the last plan arrives');
      const held = locator.savedPlans();
      const bytes = held.reduce((n, p) => n + planRecordBytes(p), 0);
      assert.ok(bytes <= DEFAULT_STALE_BYTES, `${bytes} bytes held`);
      assert.ok(held.length < 300, `${held.length} plans held`);
      assert.ok(
        held.every((p) => p.savedAt <= Date.now()),
        'savedAt clamped to arrival',
      );
      assert.ok(!held.some((p) => /victim5\d\d/.test(p.destination)), 'the oversized plans are refused');
      assert.equal(link.status().invalid, 10);
    } finally {
      await link.close();
      locator.close();
      await writer.quit();
    }
  });
});
