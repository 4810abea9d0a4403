// npm run bench [-- --json] [--only a,b] [--list]: the bench, one section after another, each in a process of its own
// with a time budget. Progress goes to stderr in every mode; stdout carries the JSON (--json) or the table only.
// A section that overruns its budget is stopped with every server it started (its whole process group) and reported
// as `<section>.timedOut: true`; the run goes on, and the whole run stays within RUN_BUDGET_S.
// The old flags still work: --dns-only, --monitor-only, --state-only, --proxy-only, --node-red-only (each prints the
// JSON it printed before).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnlessKamailio } from '../servers/kamailio';

/** Figures a section measured: nested under top-level keys (`{ dns: { outageServed: 1 } }`). */
type Figures = Record<string, unknown>;

/** One row of the section table. */
interface Section {
  /** Its name for --only, and where its timing (bench.sections) and a timeout (`<name>.timedOut`) are reported. */
  name: string;
  /** Seconds it may take before it is stopped (the run's remaining time caps it further). */
  budgetS: number;
  /** Measures; runs in a child process (see runChild). */
  run(): Promise<Figures>;
}

/** `npm run bench` stays within 10 minutes: 9 for the sections, the rest for the build (slow on a busy machine). */
const RUN_BUDGET_S = 540;
/** How long a stopped section's processes get between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5000;

/**
 * A section another file delivers: `test/bench/<file>.ts` exporting `bench<Name>()` that returns figures under their
 * full dotted names (`loss.x`, `cold.cpuMsPerLocate`). A missing file is reported as "section not available".
 */
function external(file: string, fn: string): () => Promise<Figures> {
  return async () => {
    const path = join(__dirname, `${file}.ts`);
    if (!existsSync(path)) return { notAvailable: true };
    const mod = (await import(path)) as Record<string, unknown>;
    const bench = mod[fn];
    if (typeof bench !== 'function') return { notAvailable: true };
    const flat = (await (bench as () => Promise<Record<string, number | boolean>>)()) ?? {};
    // `loss.rate` -> { loss: { rate } }; `monitor.falseDownsPerHour.10` -> { monitor: { 'falseDownsPerHour.10' } }.
    const out: Record<string, Record<string, unknown>> = {};
    for (const [key, value] of Object.entries(flat)) {
      const dot = key.indexOf('.');
      const [top, rest] = dot < 0 ? [file, key] : [key.slice(0, dot), key.slice(dot + 1)];
      (out[top] ??= {})[rest] = value;
    }
    return out;
  };
}

const resolver = (): Promise<typeof import('./resolver')> => import('./resolver');

/** Every section, in run order. Add a row to add a section. */
const SECTIONS: Section[] = [
  {
    name: 'cold',
    budgetS: 60,
    async run() {
      const r = await resolver();
      const out: Figures = { rttMs: r.RTT, runs: r.RUNS };
      r.log(`  cold resolution of sip:example.test through a proxy with ${r.RTT} ms RTT, median of ${r.RUNS}`);
      const coldRtt: Record<string, number> = {};
      const queries: Record<string, number> = {};
      const servers: Array<Awaited<ReturnType<typeof r.cold>>> = [];
      for (const [name, kind, variant] of [
        ['bind', 'bind', 'default'],
        ['nsd', 'nsd', 'default'],
        ['knot', 'knot', 'default'],
        ['minimal', 'bind', 'minimal'],
      ] as const) {
        const c = await r.cold(kind, variant);
        coldRtt[name] = r.r2(c.rtt);
        queries[name] = c.queries;
        servers.push(c);
        r.log(`  ${name.padEnd(8)} ${r.r2(c.rtt)} RTT, ${c.queries} queries`);
      }
      out.coldRtt = coldRtt;
      out.queries = { cold: queries };
      const bindProxy = servers[0]!.proxy.nameserver;
      const ours = r.median(await Promise.all(Array.from({ length: r.RUNS }, () => r.coldLocate(bindProxy))));
      const chain: number[] = [];
      for (let i = 0; i < r.RUNS; i++) chain.push(await r.nodeChain(bindProxy));
      const sj: Array<{ ms: number; targets: number }> = [];
      for (let i = 0; i < r.RUNS; i++) sj.push(await r.sipjs(bindProxy));
      const vs = {
        nodeDns: r.r2(r.median(chain) / ours),
        sipjs: r.r2(r.median(sj.map((x) => x.ms)) / ours),
        sipjsNote: `npm sip 0.0.6 returned ${sj[0]!.targets} targets: no NAPTR (so not TLS as the NAPTR order says), SRV priority and weight ignored, _sip._tls instead of _sips._tcp`,
      };
      out.vs = vs;
      r.log(`  vs Node dns chain ${vs.nodeDns}x slower, vs npm sip ${vs.sipjs}x`);
      const w = await r.warm(servers[2]!.server.nameserver);
      out.warm = { locatePerSec: w.perSec, vsMapGet: w.vsMapGet };
      r.log(`  warm: ${w.perSec} locate()/s, ${w.vsMapGet}x a Map.get`);
      for (const s of servers) {
        await s.proxy.stop();
        await s.server.stop();
      }
      return out;
    },
  },
  {
    name: 'concurrency',
    budgetS: 60,
    async run() {
      const r = await resolver();
      const { startDnsServer } = await import('../servers/dns-servers');
      const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dir = mkdtempSync(join(tmpdir(), 'sip-bench-'));
      writeFileSync(
        join(dir, 'conc.test.zone'),
        '$ORIGIN conc.test.\n$TTL 300\n@ IN SOA ns1 h 1 3600 600 86400 60\n IN NS ns1\nns1 IN A 127.0.0.1\n* IN A 127.0.0.1\n',
      );
      const nsd = await startDnsServer('nsd', { zones: [{ origin: 'conc.test', file: join(dir, 'conc.test.zone') }] });
      try {
        const c = await r.concurrency(nsd.nameserver);
        r.log(`  concurrency: ${JSON.stringify(c)}`);
        return { concurrency: c };
      } finally {
        await nsd.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'fanout',
    budgetS: 30,
    async run() {
      const r = await resolver();
      const fanout = await r.maxQueriesPerLocate();
      r.log(
        `  dns.maxQueriesPerLocate: ${fanout.questions} questions (${fanout.udpQueries} UDP, ${fanout.tcpConnections} TCP)`,
      );
      return {
        dns: {
          maxQueriesPerLocate: fanout.questions,
          maxQueriesPerLocateNote: `64 NAPTR x 64 SRV zone: ${fanout.udpQueries} UDP queries, ${fanout.tcpConnections} TCP retries of truncated answers`,
        },
      };
    },
  },
  {
    name: 'store',
    budgetS: 90,
    async run() {
      const r = await resolver();
      const { startDnsServer } = await import('../servers/dns-servers');
      const { storeScale } = await import('./store-scale');
      const knot = await startDnsServer('knot');
      try {
        const store = { ...(await r.sharedStore(knot.nameserver)), ...(await storeScale()) };
        r.log(`  shared store: ${JSON.stringify(store)}`);
        return { store };
      } finally {
        await knot.stop();
      }
    },
  },
  {
    name: 'store-failover',
    budgetS: 90,
    async run() {
      const r = await resolver();
      const { sentinelFailover } = await import('./store-sentinel');
      const { clusterFailover } = await import('./store-cluster');
      const store = { ...(await sentinelFailover()), ...(await clusterFailover()) };
      r.log(`  store failover: ${JSON.stringify(store)}`);
      return { store };
    },
  },
  {
    name: 'state',
    budgetS: 60,
    async run() {
      const r = await resolver();
      const state = await r.stateAtScale();
      r.log(`  state: ${JSON.stringify(state)}`);
      return { state };
    },
  },
  {
    name: 'dns',
    budgetS: 90,
    async run() {
      const r = await resolver();
      const { startDnsServer } = await import('../servers/dns-servers');
      const { startProxy } = await import('../servers/proxy');
      const server = await startDnsServer('bind');
      const proxy = await startProxy({ upstream: server.nameserver, delayMs: r.DELAY });
      try {
        return { dns: await r.dnsFigures(proxy.nameserver) };
      } finally {
        await proxy.stop();
        await server.stop();
      }
    },
  },
  {
    name: 'memory',
    budgetS: 90,
    async run() {
      const r = await resolver();
      const memory = await r.memory();
      r.log(`  memory: ${JSON.stringify(memory)}`);
      return { memory };
    },
  },
  {
    name: 'enum',
    budgetS: 30,
    async run() {
      const r = await resolver();
      const figures = await r.enumFigures();
      r.log(`  ENUM: ${JSON.stringify(figures)}`);
      return { enum: figures };
    },
  },
  {
    name: 'nodeRed',
    budgetS: 120,
    async run() {
      const r = await resolver();
      const nodeRed = await r.nodeRedRatio();
      r.log(`  Node-RED: ${JSON.stringify(nodeRed)}`);
      return { nodeRed };
    },
  },
  {
    name: 'monitor',
    budgetS: 120,
    async run() {
      const { monitorFigures } = await import('./monitor');
      const monitor = await monitorFigures();
      process.stderr.write(`  monitor: ${JSON.stringify(monitor)}\n`);
      return { monitor };
    },
  },
  {
    name: 'proxy',
    budgetS: 120,
    async run() {
      if (skipUnlessKamailio()) return { proxy: { skipped: 'kamailio not installed' } };
      const { benchProxy } = await import('./proxy');
      const proxy = await benchProxy();
      process.stderr.write(`  Kamailio + Node-RED: ${JSON.stringify(proxy)}\n`);
      return { proxy };
    },
  },
  // Sections other files deliver (each plugs in when its file exists).
  { name: 'loss', budgetS: 180, run: external('loss', 'benchLoss') },
  { name: 'hostile', budgetS: 120, run: external('hostile', 'benchHostile') },
  { name: 'affinity', budgetS: 60, run: external('affinity', 'benchAffinity') },
];

/** The old --*-only flags: the section each one runs, and the JSON shape it printed. */
const LEGACY: Record<string, { section: string; shape(out: Figures): unknown }> = {
  '--dns-only': { section: 'dns', shape: (o) => ({ dns: o.dns }) },
  '--monitor-only': { section: 'monitor', shape: (o) => ({ monitor: o.monitor }) },
  '--state-only': { section: 'state', shape: (o) => o.state },
  '--proxy-only': { section: 'proxy', shape: (o) => o.proxy },
  '--node-red-only': { section: 'nodeRed', shape: (o) => o.nodeRed },
};

/** Child side: run one section and hand its figures to the parent over IPC. */
async function runChild(name: string): Promise<void> {
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`bench ${name}: ${String(e)}\n`);
    process.exit(1);
  });
  const section = SECTIONS.find((s) => s.name === name);
  if (!section) throw new Error(`no bench section ${name}`);
  const figures = await section.run();
  process.send!({ figures }, () => process.exit(0));
}

/** What running one section gave: its figures, or why there are none. */
interface Outcome {
  figures?: Figures;
  timedOut?: boolean;
  error?: string;
  seconds: number;
}

/** Runs a section in a child process of its own process group, killing the whole group when it overruns. */
function runSection(section: Section, budgetS: number): Promise<Outcome> {
  const t0 = performance.now();
  const seconds = (): number => Math.round((performance.now() - t0) / 100) / 10;
  return new Promise((resolve) => {
    // stdout of the child goes to our stderr: only this process writes to stdout.
    const child = spawn(process.execPath, [...process.execArgv, __filename, '--section', section.name], {
      stdio: ['ignore', 2, 2, 'ipc'],
      detached: true,
    });
    let figures: Figures | undefined;
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is gone already
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
    }, budgetS * 1000);
    child.on('message', (m: { figures?: Figures }) => (figures = m.figures));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup('SIGTERM'); // whatever the section left running
      if (timedOut) resolve({ timedOut: true, seconds: seconds() });
      else if (figures) resolve({ figures, seconds: seconds() });
      else resolve({ error: `exited with ${signal ?? code}`, seconds: seconds() });
    });
    running.add(killGroup);
    child.on('exit', () => running.delete(killGroup));
  });
}

/** Kill functions of the sections running now (Ctrl-C stops their servers too). */
const running = new Set<(signal: NodeJS.Signals) => void>();

/** Merges a section's figures into the report: top-level keys shallowly, one level deep. */
function merge(out: Figures, figures: Figures): void {
  for (const [key, value] of Object.entries(figures)) {
    const had = out[key];
    out[key] = had && typeof had === 'object' && value && typeof value === 'object' ? { ...had, ...value } : value;
  }
}

/** The human-readable table of the figures with goals. */
function table(out: Figures): string {
  const at = (path: string): string => {
    let v: unknown = out;
    for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
    return v === undefined ? 'not measured' : typeof v === 'string' ? v : JSON.stringify(v);
  };
  const rows: Array<[string, string]> = [
    ['coldRtt.bind', '<= 1.2'],
    ['coldRtt.nsd', '<= 1.2'],
    ['coldRtt.knot', '<= 1.2'],
    ['coldRtt.minimal', '<= 2.3'],
    ['queries.cold', ''],
    ['vs.nodeDns', '>= 2.5'],
    ['vs.sipjs', ''],
    ['warm.locatePerSec', ''],
    ['warm.vsMapGet', '< 20'],
    ['nodeRed.msgRatio', '>= 0.8'],
    ['memory.bytesPer1kDomains', ''],
    ['memory.boundHolds', 'true'],
    ['state.heapMBPer100kDestinations', '<= 45'],
    ['state.markFailedP99Ms', '<= 0.5'],
    ['concurrency.distinct10k', ''],
    ['concurrency.retries', ''],
    ['dns.maxQueriesPerLocate', '<= 64'],
    ['store.propagationMs', ''],
    ['store.stickyWarmRatio', '~1: reads never wait'],
    ['store.burst100kMs', '<= 10000'],
    ['store.burstFailed', '= 0'],
    ['store.catchup100kMs', '<= 5000'],
    ['store.catchupMaxStallMs', '<= 50'],
    ['store.sentinelFailoverMs', 'reported'],
    ['store.clusterFailoverMs', 'reported'],
    ['proxy.addedMsP50', '<= 1.5'],
    ['proxy.failoverMs', '<= 5'],
    ['enum.extraRtt', '~1: one NAPTR question per suffix'],
    ['enum.evilRegexpMs', 're2js linear'],
    ['enum.nativeEvilMs', 'JavaScript backtracks'],
    ['dns.deadPrimaryRatio', '<= 1.3'],
    ['dns.outageServed', '1.0'],
    ['dns.outageServedAfterRestart', '1.0'],
    ['dns.floodUnrelatedP95Ms', ''],
    ['dns.floodRatio', '<= 5x'],
    ['monitor.detectMs', ''],
    ['monitor.recoverMs', ''],
    ['monitor.requestsToDeadAfterDetect', ''],
    ['monitor.cpuPer1kTargets', ''],
  ];
  const sections = (out.bench as { sections: Record<string, unknown> }).sections;
  return (
    '| figure | value | goal |\n|---|---|---|\n' +
    rows.map(([k, goal]) => `| ${k} | ${at(k)} | ${goal} |`).join('\n') +
    '\n\n| section | seconds | note |\n|---|---|---|\n' +
    Object.entries(sections)
      .map(([k, v]) => {
        const s = v as Outcome & { notAvailable?: boolean };
        return `| ${k} | ${s.seconds} | ${s.timedOut ? 'timed out' : (s.error ?? (s.notAvailable ? 'section not available' : ''))} |`;
      })
      .join('\n')
  );
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const child = args.indexOf('--section');
  if (child >= 0) return runChild(args[child + 1]!);
  if (args.includes('--list')) {
    for (const s of SECTIONS) process.stdout.write(`${s.name} (budget ${s.budgetS} s)\n`);
    return;
  }
  const legacy = Object.keys(LEGACY).find((f) => args.includes(f));
  const onlyArg = args.find((a) => a.startsWith('--only'));
  const onlyValue = onlyArg === '--only' ? args[args.indexOf('--only') + 1] : onlyArg?.slice('--only='.length);
  const only = legacy
    ? [LEGACY[legacy]!.section]
    : onlyValue
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  const unknown = only?.filter((n) => !SECTIONS.some((s) => s.name === n)) ?? [];
  if (unknown.length) {
    process.stderr.write(
      `bench: no section ${unknown.join(', ')}; sections: ${SECTIONS.map((s) => s.name).join(', ')}\n`,
    );
    process.exit(2);
  }
  const chosen = SECTIONS.filter((s) => !only || only.includes(s.name));
  const json = args.includes('--json') || legacy !== undefined;
  const out: Figures = {};
  const sections: Record<string, unknown> = {};
  const t0 = performance.now();
  process.on('SIGINT', () => {
    for (const kill of running) kill('SIGKILL');
    process.exit(130);
  });
  for (const [i, section] of chosen.entries()) {
    const left = RUN_BUDGET_S - (performance.now() - t0) / 1000;
    // BENCH_SECTION_BUDGET_S caps every section (to try the timeout path, or for a quick partial run).
    const cap = Number(process.env.BENCH_SECTION_BUDGET_S) || Infinity;
    const budget = Math.floor(Math.min(section.budgetS, left, cap));
    const tag = `bench [${i + 1}/${chosen.length}] ${section.name}`;
    if (budget < 5) {
      process.stderr.write(`${tag}: not run, the run's ${RUN_BUDGET_S} s are used up\n`);
      sections[section.name] = { seconds: 0, timedOut: true, notRun: true };
      merge(out, { [section.name]: { timedOut: true } });
      continue;
    }
    process.stderr.write(`${tag}: started (budget ${budget} s)\n`);
    const r = await runSection(section, budget);
    const notAvailable = r.figures?.notAvailable === true;
    if (r.timedOut) merge(out, { [section.name]: { timedOut: true } });
    else if (r.figures && !notAvailable) merge(out, r.figures);
    sections[section.name] = {
      seconds: r.seconds,
      ...(r.timedOut ? { timedOut: true } : {}),
      ...(r.error ? { error: r.error } : {}),
      ...(notAvailable ? { notAvailable: true } : {}),
    };
    const how = r.timedOut
      ? `timed out after ${r.seconds} s, its processes stopped`
      : notAvailable
        ? 'section not available'
        : r.error
          ? `failed (${r.error}) after ${r.seconds} s`
          : `done in ${r.seconds} s`;
    process.stderr.write(`${tag}: ${how}\n`);
  }
  out.bench = { seconds: Math.round((performance.now() - t0) / 100) / 10, budgetSeconds: RUN_BUDGET_S, sections };
  process.stderr.write(`bench: ${chosen.length} sections in ${(out.bench as { seconds: number }).seconds} s\n`);
  if (legacy) process.stdout.write(JSON.stringify(LEGACY[legacy]!.shape(out)) + '\n');
  else if (json) process.stdout.write(JSON.stringify(out) + '\n');
  else process.stdout.write(table(out) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
