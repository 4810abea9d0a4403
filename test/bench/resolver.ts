// The resolver figures of the bench (cold and warm locate, the shared store, sticky state, DNS in real networks,
// memory, ENUM, Node-RED): ratios and counts, so that they hold on a noisy machine. Real BIND/NSD/Knot behind a
// userspace proxy with a fixed delay each way. test/bench/run.ts runs each section in a process of its own.
import * as dns from 'node:dns';
import { createLocator } from '../../src/core/locator';
import { applyRegexp } from '../../src/core/enum/regexp';
import { startDnsServer, type RunningDnsServer, type DnsServerKind } from '../servers/dns-servers';
import { startProxy, type DnsProxy } from '../servers/proxy';
import { startFakeDns, reply } from '../servers/fake-dns';
import { startNodeRedProcess } from '../servers/node-red';
import WebSocket from 'ws';
import { linkStore } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { redisAvailable, startRedis } from '../servers/redis';
import type { StateChange } from '../../src/core/types';
import { join } from 'node:path';
import { FANOUT_ORIGIN, writeFanoutZone } from '../rfc3263/fanout-zone';
import { outageAfterRestart, outageZone } from './outage-restart';

export const DELAY = 10; // ms each way: RTT 20 ms
export const RTT = 2 * DELAY;
export const RUNS = 7;
/** Progress and detail lines go to stderr in every mode (stdout carries the JSON or the table only). */
export const log = (s: string): void => {
  process.stderr.write(s + '\n');
};
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const r2 = (x: number): number => Math.round(x * 100) / 100;

export async function coldLocate(ns: string): Promise<number> {
  const l = createLocator({ nameservers: [ns], timeoutMs: 1000 });
  const t0 = performance.now();
  await l.locate('sip:example.test');
  const ms = performance.now() - t0;
  l.close();
  return ms;
}

export async function cold(
  kind: DnsServerKind,
  variant: 'default' | 'minimal',
): Promise<{ rtt: number; queries: number; server: RunningDnsServer; proxy: DnsProxy }> {
  const server = await startDnsServer(kind, { variant });
  const proxy = await startProxy({ upstream: server.nameserver, delayMs: DELAY });
  await coldLocate(proxy.nameserver); // warm-up (JIT, server caches)
  const times: number[] = [];
  const queries: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    proxy.reset();
    times.push(await coldLocate(proxy.nameserver));
    queries.push(proxy.udpQueries + proxy.tcpConnections);
  }
  return { rtt: median(times) / RTT, queries: median(queries), server, proxy };
}

/** The usual Node way: a sequential chain over dns.promises.Resolver (NAPTR, SRV, then A and AAAA per target). */
export async function nodeChain(ns: string): Promise<number> {
  const r = new dns.promises.Resolver({ timeout: 1000, tries: 2 });
  r.setServers([ns]);
  const t0 = performance.now();
  const naptr = (await r.resolveNaptr('example.test')).sort((a, b) => a.order - b.order || a.preference - b.preference);
  const srv = await r.resolveSrv(naptr[0]!.replacement);
  for (const s of srv) {
    await r.resolve4(s.name).catch(() => []);
    await r.resolve6(s.name).catch(() => []);
  }
  return performance.now() - t0;
}

/** kirm/sip.js (npm sip): SRV for tcp/udp/"tls" in parallel, no NAPTR, through Node's global resolver. */
export async function sipjs(ns: string): Promise<{ ms: number; targets: number }> {
  dns.setServers([ns]);
  const sip = require('sip') as { resolve(u: unknown, cb: (a: unknown[]) => void): void; parseUri(s: string): unknown };
  const t0 = performance.now();
  const targets = await new Promise<unknown[]>((resolve) => sip.resolve(sip.parseUri('sip:example.test'), resolve));
  return { ms: performance.now() - t0, targets: targets.length };
}

/** Two locators sharing a real redis-server: how long a pin takes from one to the other, and what the link costs a warm sticky locate(). */
export async function sharedStore(
  ns: string,
): Promise<
  { propagationMs: { p50: number; p99: number; max: number; n: number }; stickyWarmRatio: number } | { skipped: string }
> {
  if (!redisAvailable()) return { skipped: 'redis-server not installed' };
  const redis = await startRedis();
  const mk = (): ReturnType<typeof createLocator> => createLocator({ nameservers: [ns], sticky: true });
  const a = mk();
  const b = mk();
  const waiters = new Map<string, () => void>();
  const apply = b.apply.bind(b);
  b.apply = (c: StateChange): void => {
    apply(c);
    if (c.op === 'pin') waiters.get(c.pin.destination)?.();
  };
  const la = linkStore(a, createRedisStore({ url: redis.url, prefix: 'bench' }));
  const lb = linkStore(b, createRedisStore({ url: redis.url, prefix: 'bench' }));
  while (la.status().state !== 'up' || lb.status().state !== 'up') await new Promise((r) => setTimeout(r, 10));
  const target = (await a.locate('sip:example.test')).targets[0]!;
  const delays: number[] = [];
  for (let i = 0; i < 1000; i++) {
    const dest = `sip:d${i}.bench.test;udp`;
    const got = new Promise<void>((resolve) => waiters.set(dest, resolve));
    const t0 = performance.now();
    a.markSucceeded(target, dest);
    await got;
    delays.push(performance.now() - t0);
    waiters.delete(dest);
  }
  delays.sort((x, y) => x - y);
  const q = (f: number): number => r2(delays[Math.min(delays.length - 1, Math.floor(f * delays.length))]!);
  // Warm sticky locate() with and without a Redis link (reads never wait for the store).
  const plain = mk();
  const timed = async (l: ReturnType<typeof createLocator>): Promise<number> => {
    for (let i = 0; i < 20_000; i++) await l.locate('sip:example.test');
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) await l.locate('sip:example.test');
    return performance.now() - t0;
  };
  const linked = await timed(a);
  const alone = await timed(plain);
  await la.close();
  await lb.close();
  for (const l of [a, b, plain]) l.close();
  await redis.stop();
  return {
    propagationMs: { p50: q(0.5), p99: q(0.99), max: r2(delays[delays.length - 1]!), n: delays.length },
    stickyWarmRatio: r2(linked / alone),
  };
}

/** ENUM: what a tel: URI adds to a cold locate (in RTTs and questions), and the catastrophic regexp in RE2 against JavaScript's engine. */
export async function enumFigures(): Promise<{
  extraRtt: number;
  queries: number;
  evilRegexpMs: number;
  nativeEvilMs: number;
  inputLength: number;
}> {
  const origins = ['e164.arpa', 'enum.test'];
  const server = await startDnsServer('bind', {
    zones: origins.map((origin) => ({ origin, file: join(__dirname, '..', 'zones', `${origin}.zone`) })),
  });
  const proxy = await startProxy({ upstream: server.nameserver, delayMs: DELAY });
  const once = async (uri: string): Promise<{ ms: number; queries: number }> => {
    const l = createLocator({
      nameservers: [proxy.nameserver],
      timeoutMs: 1000,
      family: 'ipv4',
      enumSuffixes: ['e164.arpa'],
    });
    proxy.reset();
    const t0 = performance.now();
    await l.locate(uri);
    const ms = performance.now() - t0;
    l.close();
    return { ms, queries: proxy.udpQueries + proxy.tcpConnections };
  };
  await once('tel:+12025550101');
  const tel: number[] = [];
  const sip: number[] = [];
  const queries: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = await once('tel:+12025550101');
    tel.push(t.ms);
    queries.push(t.queries);
    sip.push((await once('sip:alice@a.enum.test')).ms);
  }
  await proxy.stop();
  await server.stop();
  const evil = '!^(((\\+|[0-9])*)*)*X$!sip:evil@example.com!';
  const input = '+12025550101234';
  const re2: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    applyRegexp(evil, input);
    re2.push(performance.now() - t0);
  }
  const t0 = performance.now();
  new RegExp('^(((\\+|[0-9])*)*)*X$').test(input);
  const nativeEvilMs = performance.now() - t0;
  return {
    extraRtt: r2((median(tel) - median(sip)) / RTT),
    queries: median(queries),
    evilRegexpMs: r2(median(re2)),
    nativeEvilMs: r2(nativeEvilMs),
    inputLength: input.length,
  };
}

export async function warm(ns: string): Promise<{ perSec: number; vsMapGet: number }> {
  const l = createLocator({ nameservers: [ns] });
  const uri = 'sip:example.test';
  const first = await l.locate(uri);
  const N = 200_000;
  for (let i = 0; i < 20_000; i++) await l.locate(uri);
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await l.locate(uri);
  const locateNs = ((performance.now() - t0) * 1e6) / N;
  const map = new Map<string, unknown>([[uri, first]]);
  let sink = 0;
  t0 = performance.now();
  for (let i = 0; i < N * 10; i++) if (map.get(uri) !== undefined) sink++;
  const mapNs = ((performance.now() - t0) * 1e6) / (N * 10);
  l.close();
  if (sink < 0) log('impossible');
  return { perSec: Math.round(1e9 / locateNs), vsMapGet: r2(locateNs / mapNs) };
}

export async function memory(): Promise<{
  bytesPer1kDomains: number;
  heapMBAt: Record<string, number>;
  boundHolds: boolean;
}> {
  const fake = await startFakeDns((q) => [
    reply(
      q,
      q.type === 'A' ? { answers: [{ type: 'A', name: q.name, ttl: 3600, data: '127.0.0.1' }] } : { answers: [] },
    ),
  ]);
  const cacheSize = 50_000;
  const l = createLocator({ nameservers: [fake.nameserver], family: 'ipv4', cacheSize, dns0x20: false });
  const heap = (): number => {
    (global as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed;
  };
  const h0 = heap();
  const at: Record<string, number> = {};
  let n = 0;
  for (const stop of [25_000, 50_000, 75_000, 100_000]) {
    for (; n < stop; n += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => l.locate(`sip:h${n + k}.mem.test:5060`)));
      fake.queries.length = 0; // the fake server's own log is not the resolver's memory
    }
    at[String(stop)] = r2((heap() - h0) / 1048576);
  }
  l.close();
  await fake.stop();
  const per1k = Math.round(((at['25000']! * 1048576) / 25_000) * 1000);
  return { bytesPer1kDomains: per1k, heapMBAt: at, boundHolds: at['100000']! <= at['50000']! * 1.15 };
}

/** Questions one cold locate('sip:amp.test') sends to a 64 NAPTR x 64 SRV zone with the default budget (64). */
export async function maxQueriesPerLocate(): Promise<{
  questions: number;
  udpQueries: number;
  tcpConnections: number;
}> {
  const zone = writeFanoutZone();
  const server = await startDnsServer('nsd', { zones: [{ origin: FANOUT_ORIGIN, file: zone.file }] });
  const proxy = await startProxy({ upstream: server.nameserver });
  const l = createLocator({ nameservers: [proxy.nameserver], timeoutMs: 1000 });
  try {
    await l.locate('sip:amp.test');
    return {
      questions: new Set(proxy.questions.map((q) => q.toLowerCase())).size,
      udpQueries: proxy.udpQueries,
      tcpConnections: proxy.tcpConnections,
    };
  } finally {
    l.close();
    await proxy.stop();
    await server.stop();
    zone.remove();
  }
}

/** Sticky state at scale: heap per 100,000 pinned numeric destinations, and markFailed's p99 with 100,000 pins. */
export async function stateAtScale(): Promise<{ heapMBPer100kDestinations: number; markFailedP99Ms: number }> {
  const heap = (): number => {
    (global as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed;
  };
  const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const l = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true }); // numeric URIs ask no nameserver
  const h0 = heap();
  for (let i = 0; i < 100_000; i++) await l.locate(`sip:${ip(i)}:5060`);
  const heapMB = (heap() - h0) / 1048576;
  const times: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const address = ip((i * 7919) % 100_000);
    const t0 = process.hrtime.bigint();
    l.markFailed({ transport: 'udp', address, port: 5060 }, { reason: 'timeout' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    l.markSucceeded({ transport: 'udp', address, port: 5060 }, `sip:${address}:5060`); // back to 100,000 pins
  }
  l.close();
  times.sort((a, b) => a - b);
  return {
    heapMBPer100kDestinations: r2(heapMB),
    markFailedP99Ms: Math.round(times[Math.floor(times.length * 0.99)]! * 1000) / 1000,
  };
}

export async function concurrency(ns: string): Promise<{ distinct10k: string; retries: number; failed: number }> {
  const l = createLocator({ nameservers: [ns], family: 'ipv4', timeoutMs: 2000 });
  const results = await Promise.allSettled(
    Array.from({ length: 10_000 }, (_, i) => l.locate(`sip:u@c${i}.conc.test:5060`)),
  );
  const failed = results.filter((r) => r.status === 'rejected').length;
  const s = l.dns!.stats();
  l.close();
  return {
    distinct10k: `${10_000 - failed}/10000`,
    retries: s.udpAttempts - (s.queries - s.cacheHits - s.merged),
    failed,
  };
}

export async function nodeRedRatio(): Promise<{ msgRatio: number; locatePerSec: number; changePerSec: number }> {
  const fake = await startFakeDns((q) => [
    reply(q, q.type === 'A' ? { answers: [{ type: 'A', name: q.name, ttl: 3600, data: '127.0.0.1' }] } : {}),
  ]);
  const red = await startNodeRedProcess([], {});
  const flows = (middle: Record<string, unknown>): unknown[] => [
    { id: 'bn-tab', type: 'tab', label: 'bench' },
    { id: 'bn-wsl', type: 'websocket-listener', path: '/bench', wholemsg: 'false' },
    { id: 'bn-res', type: 'sip-resolver', nameservers: fake.nameserver, transports: 'udp', family: 'ipv4' },
    { id: 'bn-in', type: 'websocket in', z: 'bn-tab', server: 'bn-wsl', client: '', wires: [['bn-mid']] },
    { ...middle, id: 'bn-mid', z: 'bn-tab', wires: [['bn-out'], []] },
    { id: 'bn-out', type: 'websocket out', z: 'bn-tab', server: 'bn-wsl', client: '', wires: [] },
  ];
  const throughput = async (): Promise<number> => {
    let ws: WebSocket | undefined;
    for (let i = 0; i < 100 && !ws; i++) {
      const c = new WebSocket(red.url.replace('http', 'ws') + '/bench');
      if (
        await new Promise<boolean>((r) => {
          c.once('open', () => r(true));
          c.once('error', () => r(false));
        })
      )
        ws = c;
      else await new Promise((r) => setTimeout(r, 100));
    }
    const socket = ws!;
    const N = 20_000;
    let got = 0;
    const done = new Promise<void>((resolve) =>
      socket.on('message', () => {
        if (++got === N) resolve();
      }),
    );
    const t0 = performance.now();
    for (let i = 0; i < N; i++) socket.send('sip:bench.test:5060');
    await done;
    const perSec = N / ((performance.now() - t0) / 1000);
    socket.close();
    return perSec;
  };
  // Alternate the two flows and take medians: one round each swung the ratio from 0.61 to 0.95 between runs.
  const change: number[] = [];
  const locate: number[] = [];
  for (let round = 0; round < 5; round++) {
    await red.deploy(flows({ type: 'change', rules: [{ t: 'set', p: 'sip', pt: 'msg', to: 'x', tot: 'str' }] }));
    await throughput();
    change.push(await throughput());
    await red.deploy(flows({ type: 'sip-locate', resolver: 'bn-res', uri: 'payload', uriType: 'msg' }));
    await throughput();
    locate.push(await throughput());
  }
  const changePerSec = median(change);
  const locatePerSec = median(locate);
  log(
    `  Node-RED rounds: change ${change.map(Math.round).join(', ')}; sip-locate ${locate.map(Math.round).join(', ')}`,
  );
  await red.stop();
  await fake.stop();
  return {
    msgRatio: r2(locatePerSec / changePerSec),
    locatePerSec: Math.round(locatePerSec),
    changePerSec: Math.round(changePerSec),
  };
}

/** dns.deadPrimaryRatio: cold locate with a silent first nameserver ÷ with a healthy one, median after the first miss. */
async function deadPrimary(ns: string): Promise<{ ratio: number; deadMs: number; healthyMs: number }> {
  const silent = await startFakeDns(() => []);
  const healthy = createLocator({ nameservers: [ns], timeoutMs: 500 });
  const dead = createLocator({ nameservers: [silent.nameserver, ns], timeoutMs: 500 });
  await healthy.locate('sip:example.test'); // warm-up
  await dead.locate('sip:example.test'); // the first miss
  const cold = async (l: ReturnType<typeof createLocator>): Promise<number> => {
    l.dns!.clearCache();
    const t0 = performance.now();
    await l.locate('sip:example.test', { trace: true }); // trace: no plan reuse, every question goes out
    return performance.now() - t0;
  };
  const h: number[] = [];
  const d: number[] = [];
  // Interleaved, 3 x RUNS each: the two medians see the same machine load.
  for (let i = 0; i < 3 * RUNS; i++) {
    h.push(await cold(healthy));
    d.push(await cold(dead));
  }
  healthy.close();
  dead.close();
  await silent.stop();
  const healthyMs = median(h);
  const deadMs = median(d);
  return { ratio: r2(deadMs / healthyMs), deadMs: r2(deadMs), healthyMs: r2(healthyMs) };
}

/**
 * dns.outageServed: 20 destinations seen once (TTL 5 s), then every nameserver silent for 60 s, simulated with a
 * controllable clock: 12 rounds 5 s apart, each locating all 20; the share answered.
 */
async function outage(): Promise<{ served: number; locates: number; realMs: number }> {
  let dead = false;
  const fake = await startFakeDns(outageZone('outage.test', () => dead));
  let offset = 0;
  const l = createLocator({
    nameservers: [fake.nameserver],
    transports: ['udp'],
    family: 'ipv4',
    timeoutMs: 500,
    tries: 2,
    clock: { now: () => Date.now() + offset },
  });
  const uris = Array.from({ length: 20 }, (_, i) => `sip:d${i}.outage.test`);
  await Promise.all(uris.map((u) => l.locate(u)));
  dead = true;
  let served = 0;
  let locates = 0;
  const t0 = performance.now();
  for (let round = 1; round <= 12; round++) {
    offset += 5000;
    const results = await Promise.allSettled(uris.map((u) => l.locate(u)));
    locates += results.length;
    served += results.filter((r) => r.status === 'fulfilled').length;
  }
  const realMs = performance.now() - t0;
  l.close();
  await fake.stop();
  return { served: r2(served / locates), locates, realMs: Math.round(realMs) };
}

/** dns.floodUnrelatedP95Ms: p95 of unrelated cold lookups, alone and during a flood of 100 names/s under one silent domain. */
async function flood(): Promise<{ p95Ms: number; baselineP95Ms: number; ratio: number; floodSent: number }> {
  const fake = await startFakeDns((q) =>
    q.name.toLowerCase().endsWith('.flood.test')
      ? []
      : [reply(q, q.type === 'A' ? { answers: [{ type: 'A', name: q.name, ttl: 300, data: '127.0.0.1' }] } : {})],
  );
  const proxy = await startProxy({ upstream: fake.nameserver, delayMs: DELAY });
  const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
  const measure = async (withFlood: boolean, tag: string): Promise<{ p95: number; sent: number }> => {
    const l = createLocator({ nameservers: [proxy.nameserver], family: 'ipv4' });
    let sent = 0;
    const floodTimer = withFlood
      ? setInterval(() => {
          l.locate(`sip:f${sent++}.flood.test:5060`).catch(() => undefined);
        }, 10)
      : undefined;
    if (withFlood) await new Promise((r) => setTimeout(r, 1000)); // let the flood build up first
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      await l.locate(`sip:u${i}.${tag}.other.test:5060`);
      times.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (floodTimer) clearInterval(floodTimer);
    l.close();
    return { p95: p95(times), sent };
  };
  const base = await measure(false, 'base');
  const during = await measure(true, 'flood');
  await proxy.stop();
  await fake.stop();
  return {
    p95Ms: r2(during.p95),
    baselineP95Ms: r2(base.p95),
    ratio: r2(during.p95 / base.p95),
    floodSent: during.sent,
  };
}

/** The DNS-in-real-networks figures (issue 12): dead primary, outage served stale, flood fairness. */
export async function dnsFigures(ns: string): Promise<Record<string, unknown>> {
  const dp = await deadPrimary(ns);
  log(
    `  dns.deadPrimaryRatio ${dp.ratio} (${dp.deadMs} ms with a silent first nameserver, ${dp.healthyMs} ms without)`,
  );
  const os = await outage();
  log(`  dns.outageServed ${os.served} (${os.locates} locates over 60 simulated seconds, ${os.realMs} ms real)`);
  const or = await outageAfterRestart();
  log(
    `  dns.outageServedAfterRestart ${or.served} (${or.locates} locates by a new instance on the same context store, ${or.realMs} ms)`,
  );
  const fl = await flood();
  log(
    `  dns.floodUnrelatedP95Ms ${fl.p95Ms} during the flood, ${fl.baselineP95Ms} without (${fl.ratio}x; ${fl.floodSent} flood names)`,
  );
  return {
    deadPrimaryRatio: dp.ratio,
    deadPrimary: dp,
    outageServed: os.served,
    outage: os,
    outageServedAfterRestart: or.served,
    outageAfterRestart: or,
    floodUnrelatedP95Ms: fl.p95Ms,
    floodBaselineP95Ms: fl.baselineP95Ms,
    floodRatio: fl.ratio,
    floodSent: fl.floodSent,
  };
}
