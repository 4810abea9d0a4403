/**
 * Figures of issue 25 (fast when packets are lost): cold locates of distinct SIP domains (NAPTR -> SRV -> A/AAAA)
 * from real BIND through the userspace proxy, 20 ms round trip (8-12 ms each way), the proxy dropping a seeded
 * share of UDP packets in each direction; side by side with Node's dns.Resolver (c-ares) doing the same chain
 * through the same proxy. One long-lived locator per cell (its timers warmed up on 20 locates that are not
 * counted), CELL locates per cell, PARALLEL at a time. Plus the CPU of a cold locate and false downs of the SIP
 * monitor at 10 % loss.
 */
import * as dns from 'node:dns';
import { createLocator, type SipLocator } from '../../src/core/locator';
import type { ResolverEvent } from '../../src/core/events';
import { Monitor } from '../../src/monitor/scheduler';
import { monitorSettingsFrom } from '../../src/monitor/settings';
import { startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { startFakeDns } from '../servers/fake-dns';
import { seededRandom, startProxy, type DnsProxy } from '../servers/proxy';
import { LOSS_ORIGIN, writeLossZone } from '../dns/loss-zone';
import { startUdpUas, type UdpUas } from '../monitor/udp-uas';

/** Round trip through the proxy, ms. */
const RTT = 20;
/** Cold locates measured per cell. */
const CELL = 300;
/** Locates per cell that warm the locator's timers and are not counted. */
const WARM = 20;
/** Locates in flight at once. */
const PARALLEL = 5;
/** How long the monitor's false downs are counted at 10 % loss, ms (scaled to an hour: one down is 40 an hour). */
const MONITOR_MS = 90_000;
/**
 * How long the monitor runs before counting starts, ms: its first probes use RFC 3261's T1 (500 ms) as no round
 * trip is known yet, which happens once per start, not every minute, so counting it would scale it up 40-fold.
 */
const MONITOR_WARM_MS = 5_000;
/** Targets the monitor probes. */
const MONITOR_TARGETS = 50;

const r2 = (x: number): number => Math.round(x * 100) / 100;
const pct = (xs: number[], f: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(f * s.length))]!;
};

/** Hands out domain numbers so that no two locates of the run share a name. */
let nextDomain = 0;
const domain = (): string => `d${nextDomain++}.${LOSS_ORIGIN}`;

/** Runs `n` jobs, PARALLEL at a time; returns each one's ms and whether it failed. */
async function timed(n: number, job: (name: string) => Promise<void>): Promise<{ ms: number[]; failed: number }> {
  const ms: number[] = [];
  let failed = 0;
  let left = n;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (left-- > 0) {
        const name = domain();
        const t0 = performance.now();
        try {
          await job(name);
        } catch {
          failed++;
        }
        ms.push(performance.now() - t0);
      }
    }),
  );
  return { ms, failed };
}

/** A cold locate that must find a target. */
async function locateOnce(l: SipLocator, name: string): Promise<void> {
  const r = await l.locate(`sip:${name}`);
  if (r.targets.length === 0) throw new Error(`no target for ${name}`);
}

/** One cell of ours: p50 and p99 in RTTs, failures and questions per locate. */
async function ours(
  proxy: DnsProxy,
  loss: number,
  nameservers = [proxy.nameserver],
): Promise<{ p50: number; p99: number; failed: number; perLocate: number }> {
  const l = createLocator({ nameservers });
  proxy.setLoss(loss);
  await timed(WARM, (name) => locateOnce(l, name));
  proxy.reset();
  const r = await timed(CELL, (name) => locateOnce(l, name));
  const perLocate = (proxy.udpQueries + proxy.tcpConnections) / CELL;
  l.close();
  return { p50: r2(pct(r.ms, 0.5) / RTT), p99: r2(pct(r.ms, 0.99) / RTT), failed: r.failed, perLocate };
}

/** The same chain with Node's dns.Resolver: NAPTR, SRV of the first, then A and AAAA of the targets together. */
async function cares(proxy: DnsProxy, loss: number): Promise<{ p99: number; failed: number }> {
  const r = new dns.promises.Resolver();
  r.setServers([proxy.nameserver]);
  proxy.setLoss(loss);
  const chain = async (name: string): Promise<void> => {
    const naptr = (await r.resolveNaptr(name)).sort((a, b) => a.order - b.order || a.preference - b.preference);
    const srv = await r.resolveSrv(naptr[0]!.replacement);
    await Promise.all(srv.flatMap((s) => [r.resolve4(s.name), r.resolve6(s.name).catch(() => [])]));
  };
  const out = await timed(CELL, chain);
  r.cancel();
  return { p99: r2(pct(out.ms, 0.99) / RTT), failed: out.failed };
}

/** CPU per cold locate straight to BIND (no proxy in this process), ms; after 50 locates of warm-up. */
async function cpuPerLocate(server: RunningDnsServer): Promise<number> {
  const l = createLocator({ nameservers: [server.nameserver] });
  for (let i = 0; i < 50; i++) await locateOnce(l, domain());
  const c0 = process.cpuUsage();
  for (let i = 0; i < CELL; i++) await locateOnce(l, domain());
  const used = process.cpuUsage(c0);
  l.close();
  return r2((used.user + used.system) / 1000 / CELL);
}

/** Down events of MONITOR_TARGETS live targets probed every 1 s at 10 % loss each way (20 ms RTT) over MONITOR_MS after MONITOR_WARM_MS, per hour. */
async function falseDowns(downAfter: number, seed: number): Promise<number> {
  const servers: UdpUas[] = [];
  const random = seededRandom(seed);
  for (let i = 0; i < MONITOR_TARGETS; i++) {
    const uas = await startUdpUas();
    uas.loss = 0.1;
    uas.random = random;
    uas.delayMs = RTT;
    servers.push(uas);
  }
  const name = `mon${seed}.test`;
  const records = [
    ...servers.map((u, i) => `_sip._udp.${name}. 60 IN SRV 10 0 ${u.port} h${i}.${name}.`),
    ...servers.map((_, i) => `h${i}.${name}. 60 IN A 127.0.0.1`),
  ];
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: records,
    transports: ['udp'],
    maxTargets: 64,
  });
  const m = new Monitor(
    l,
    monitorSettingsFrom({ monitorUris: `sip:${name}`, monitorInterval: 1, monitorDownAfter: downAfter })!,
  );
  let downs = 0;
  let counting = false;
  const off = l.events.on((e: ResolverEvent) => {
    if (e.op === 'down' && counting) downs++;
  });
  m.start();
  await new Promise((r) => setTimeout(r, MONITOR_WARM_MS));
  counting = true;
  await new Promise((r) => setTimeout(r, MONITOR_MS));
  off();
  await m.close();
  l.close();
  for (const u of servers) await u.stop();
  return Math.round((downs * 3_600_000) / MONITOR_MS);
}

/** The issue-25 figures (names as the issue gives them). */
export async function benchLoss(): Promise<Record<string, number | boolean>> {
  const zone = writeLossZone(4000);
  const full = await startDnsServer('bind', { zones: [{ origin: LOSS_ORIGIN, file: zone.file }] });
  const minimal = await startDnsServer('bind', {
    zones: [{ origin: LOSS_ORIGIN, file: zone.file }],
    variant: 'minimal',
  });
  const proxy = await startProxy({ upstream: full.nameserver, delayMs: 8, jitterMs: 4, seed: 25 });
  const minProxy = await startProxy({ upstream: minimal.nameserver, delayMs: 8, jitterMs: 4, seed: 26 });
  const silent = await startFakeDns(() => []);
  const out: Record<string, number | boolean> = {};
  try {
    await ours(proxy, 0); // warm-up: JIT, BIND
    const c0 = await ours(proxy, 0);
    const c1 = await ours(proxy, 0.01);
    const c5 = await ours(proxy, 0.05);
    const c10 = await ours(proxy, 0.1);
    const m5 = await ours(minProxy, 0.05);
    const a5 = await cares(proxy, 0.05);
    const dead = await ours(proxy, 0.01, [silent.nameserver, proxy.nameserver]);
    out['loss.p99Rtt.1'] = c1.p99;
    out['loss.p99Rtt.5'] = c5.p99;
    out['loss.p99Rtt.10'] = c10.p99;
    out['loss.failed.10'] = c10.failed;
    out['loss.p50RttMinimal.5'] = m5.p50;
    out['loss.queriesRatio.5'] = r2(c5.perLocate / c0.perLocate);
    out['loss.vsCares.5'] = r2(a5.p99 / c5.p99);
    out['loss.deadFirstP99Rtt.1'] = dead.p99;
    out['loss.p50Rtt.0'] = c0.p50;
    out['loss.p99Rtt.0'] = c0.p99;
    out['loss.caresP99Rtt.5'] = a5.p99;
    out['loss.caresFailed.5'] = a5.failed;
    out['loss.failed.all'] = c0.failed + c1.failed + c5.failed + c10.failed + m5.failed + dead.failed;
    out['cold.cpuMsPerLocate'] = await cpuPerLocate(full);
    // The two monitors run together, after the DNS cells (whose tail they would disturb in this one process).
    const [downs1, downs2] = await Promise.all([falseDowns(1, 7), falseDowns(2, 8)]);
    out['monitor.falseDownsPerHour.10'] = downs1;
    out['monitor.falseDownsPerHourDownAfter2.10'] = downs2;
  } finally {
    await silent.stop();
    await proxy.stop();
    await minProxy.stop();
    await full.stop();
    await minimal.stop();
    zone.remove();
  }
  return out;
}

if (require.main === module) {
  void benchLoss().then((f) => console.log(JSON.stringify(f, null, 1)));
}
