// Hostile-input figures (issue 23): the event loop while locating numbers whose ENUM answers hold 64 expensive
// regexps (real NSD), marks on other destinations' targets after 3,000 forged reports, the heap after 300 maximal
// plans arrive from a second writer through a real redis-server, and whether memory follows cacheSize.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient } from '@redis/client';
import { createLocator, type SipLocator } from '../../src/core/locator';
import { isSipLocateError } from '../../src/core/errors';
import { isReport, parseReport } from '../../src/core/failover/report';
import { MAX_PLAN_BYTES, planRecordBytes } from '../../src/core/rfc3263/plan-record';
import type { PlanRecord } from '../../src/core/types';
import { linkStore, type StoreLink } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { startDnsServer } from '../servers/dns-servers';
import { reply, startFakeDns } from '../servers/fake-dns';
import { startRedis } from '../servers/redis';
import { COSTLY_NUMBER, HOSTILE_ENUM_ORIGIN, hostileEnumZoneText, HUGE_NUMBER } from '../enum/hostile-zone';

const r2 = (n: number): number => Math.round(n * 100) / 100;
const heap = (): number => {
  (global as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
};
/** Waits by polling for a condition (no fixed sleeps); rejects after ms. */
async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Longest event-loop delay, ms, while locating the two hostile numbers (answers fetched first, so the regexp work is measured). */
async function enumLoopDelay(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sip-hostile-'));
  const file = join(dir, 'hostile.zone');
  writeFileSync(file, hostileEnumZoneText());
  const server = await startDnsServer('nsd', { zones: [{ origin: HOSTILE_ENUM_ORIGIN, file }] });
  let worst = 0;
  try {
    for (const number of [HUGE_NUMBER, COSTLY_NUMBER]) {
      const l = createLocator({
        nameservers: [server.nameserver],
        timeoutMs: 2000,
        tries: 2,
        enumSuffixes: [HOSTILE_ENUM_ORIGIN],
        enumFallback: 'sip:{digits}@127.0.0.1',
      });
      try {
        await l.dns!.query(`${[...number.slice(1)].reverse().join('.')}.${HOSTILE_ENUM_ORIGIN}`, 'NAPTR');
        const h = monitorEventLoopDelay({ resolution: 1 });
        h.enable();
        await l.locate(`tel:${number}`);
        h.disable();
        worst = Math.max(worst, h.max / 1e6);
      } finally {
        l.close();
      }
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return r2(worst);
}

/** Marks on sip:bank.example's targets (or on any target for every destination) after 3,000 forged reports. */
async function forgedMarked(): Promise<number> {
  const addresses = ['127.0.0.12', '127.0.0.13', '127.0.0.14'];
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: addresses.map((a) => `bank.example. 60 IN A ${a}`),
    transports: ['udp'],
    family: 'ipv4',
  });
  try {
    const bank = 'sip:bank.example:5060';
    const targets = (await l.locate(bank)).targets;
    for (let i = 0; i < 3000; i++) {
      const t = targets[i % targets.length]!;
      const numeric = `sip:${t.address}:5060`;
      // Half way, the attacker routes a call to the numeric URI through the proxy: it is handed out too.
      if (i === 1500) await l.locate(numeric);
      const body =
        i % 2 === 0
          ? { uri: numeric, failed: t.key, status: 503, retryAfter: 999999 }
          : { uri: numeric, failed: t.key, status: 500, retryAfter: 999999, targets, target: t, destination: bank };
      if (!isReport(body)) continue;
      const report = parseReport(body);
      if (report instanceof Error) continue;
      await l
        .failoverFrom(report.uri, report.failed, {
          status: report.status,
          retryAfter: report.retryAfter,
          failoverCodes: '5xx',
        })
        .catch((e: unknown) => {
          if (!isSipLocateError(e, 'ENOTATARGET')) throw e;
        });
    }
    const onBank = (await l.locate(bank)).targets.filter((t) => t.mark !== undefined).length;
    return onBank + l.state().marks.length;
  } finally {
    l.close();
  }
}

/** A plan just under MAX_PLAN_BYTES (3 entries of 64 SRV records with 255-character names), or a 1.5 MB one the reader refuses. */
function maximalPlan(i: number, now: number, oversized: boolean): PlanRecord {
  const name = (e: number, k: number): string => `${i}-${e}-${k}-`.padEnd(253, 'x') + '.t';
  const entry = (e: number): PlanRecord['entries'][number] => ({
    kind: 'srv',
    transport: 'udp',
    source: 'srv',
    srv: Array.from({ length: 64 }, (_, k) => ({ priority: k, weight: 0, port: 5060, target: name(e, k) })),
    hosts: oversized
      ? Array.from({ length: 64 }, (_, k) => ({ host: name(e, k), v4: ['127.66.66.66'], v6: [], ttl: 60 }))
      : [],
  });
  return {
    destination: `sip:victim${i}.example`,
    entries: Array.from({ length: oversized ? 32 : 3 }, (_, e) => entry(e)),
    ttl: 60,
    savedAt: now + 365 * 86_400_000,
    expiresAt: now + 3_600_000,
  };
}

/** Heap growth, MB, of an instance after a second writer puts 300 maximal plans (and 10 oversized ones) on the shared prefix: live, and read at start. */
async function hostilePlansHeapMB(): Promise<{ live: number; catchUp: number }> {
  const redis = await startRedis();
  const writer = createClient({ url: redis.url });
  const open: Array<{ locator: SipLocator; link: StoreLink }> = [];
  const instance = (): { locator: SipLocator; link: StoreLink } => {
    const locator = createLocator({ nameservers: ['127.0.0.1:9'], staleSeconds: 86400 });
    const i = { locator, link: linkStore(locator, createRedisStore({ url: redis.url, prefix: 'hostile' })) };
    open.push(i);
    return i;
  };
  try {
    await writer.connect();
    const victim = instance();
    await until(() => victim.link.status().state === 'up', 'victim up');
    const h0 = heap();
    const now = Date.now();
    const plans = [
      ...Array.from({ length: 300 }, (_, i) => maximalPlan(i, now, false)),
      ...Array.from({ length: 10 }, (_, i) => maximalPlan(1000 + i, now, true)),
    ];
    if (planRecordBytes(plans[0]!) > MAX_PLAN_BYTES) throw new Error('the maximal plan is over the bound');
    const last: PlanRecord = {
      ...maximalPlan(9999, now, false),
      entries: [
        {
          kind: 'address',
          transport: 'udp',
          source: 'address',
          host: 'x',
          port: 5060,
          addrs: { host: 'x', v4: ['127.0.0.1'], v6: [], ttl: 60 },
        },
      ],
    };
    for (const plan of [...plans, last]) {
      const text = JSON.stringify(plan);
      await writer.sendCommand(['SET', `hostile:plan:${plan.destination}`, text, 'PX', '3600000']);
      await writer.sendCommand([
        'PUBLISH',
        'hostile:changes',
        JSON.stringify({ from: 'writer', changes: [{ ttl: 3_600_000, change: { op: 'plan', plan } }] }),
      ]);
    }
    await until(
      () => victim.locator.savedPlans().some((p) => p.destination === last.destination),
      'the last plan arrives',
    );
    const live = (heap() - h0) / 1048576;
    const h1 = heap();
    const fresh = instance();
    await until(() => fresh.link.status().state === 'up', 'fresh instance up');
    const catchUp = (heap() - h1) / 1048576;
    return { live: r2(live), catchUp: r2(catchUp) };
  } finally {
    for (const i of open) {
      await i.link.close();
      i.locator.close();
    }
    await writer.quit().catch(() => undefined);
    await redis.stop();
  }
}

/** Heap after locating 50,000 and 100,000 distinct domains with cacheSize 50,000: true when 100,000 costs at most 15 % more. */
export async function memoryBound(): Promise<{ heapMBAt: Record<string, number>; boundHolds: boolean }> {
  const fake = await startFakeDns((q) => [
    reply(
      q,
      q.type === 'A' ? { answers: [{ type: 'A', name: q.name, ttl: 3600, data: '127.0.0.1' }] } : { answers: [] },
    ),
  ]);
  const l = createLocator({ nameservers: [fake.nameserver], family: 'ipv4', cacheSize: 50_000, dns0x20: false });
  const h0 = heap();
  const at: Record<string, number> = {};
  let n = 0;
  try {
    for (const stop of [50_000, 100_000]) {
      for (; n < stop; n += 500) {
        await Promise.all(Array.from({ length: 500 }, (_, k) => l.locate(`sip:h${n + k}.mem.test:5060`)));
        fake.queries.length = 0; // the fake server's own log is not the resolver's memory
      }
      at[String(stop)] = r2((heap() - h0) / 1048576);
    }
  } finally {
    l.close();
    await fake.stop();
  }
  return { heapMBAt: at, boundHolds: at['100000']! <= at['50000']! * 1.15 };
}

/** The hostile-input figures, by the names issue 23 gives. */
export async function benchHostile(): Promise<Record<string, number | boolean>> {
  const loop = await enumLoopDelay();
  const forged = await forgedMarked();
  const plans = await hostilePlansHeapMB();
  const memory = await memoryBound();
  return {
    'enum.hostileMaxLoopDelayMs': loop,
    'reports.forgedMarked': forged,
    'state.hostilePlansHeapMB': Math.max(plans.live, plans.catchUp),
    'state.hostilePlansHeapMBLive': plans.live,
    'state.hostilePlansHeapMBCatchUp': plans.catchUp,
    'memory.heapMBAt50k': memory.heapMBAt['50000']!,
    'memory.heapMBAt100k': memory.heapMBAt['100000']!,
    'memory.boundHolds': memory.boundHolds,
  };
}

if (require.main === module) {
  benchHostile().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
