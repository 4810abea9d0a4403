/**
 * Sustained load through a real Node-RED: websocket in -> sip-locate -> sip-options -> sip-target-failed,
 * over many domains, against sipp servers, while one server is stopped and later started again.
 * Every message carries a sequence number; the report counts what came out of each output.
 */
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startDnsServer } from '../servers/dns-servers';
import { startSipp, type RunningSipp } from '../servers/sipp';
import { startNodeRedProcess } from '../servers/node-red';
import { freePort } from '../servers/ports';

/** Options of runLoad(). */
export interface LoadOptions {
  ratePerSecond: number;
  seconds: number;
  domains: number;
  /** When (s) server A is stopped and started again. */
  stopAt: number;
  restartAt: number;
}

/** What a run measured. */
export interface LoadReport {
  messagesIn: number;
  out: Record<string, number>;
  lost: number;
  duplicated: number;
  latencyMs: { p50: number; p99: number; max: number };
  answeredBy: Record<string, number>;
  failedOver: number;
  rssMB: { start: number; end: number };
  /** V8 heap in use right after a forced full GC, before the load and after it (MB). */
  heapAfterGcMB: { start: number; end: number };
  seconds: number;
}

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return +sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
}

/** Opens a websocket, retrying while the freshly deployed listener comes up (10 s at most). */
async function connect(url: string): Promise<WebSocket> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ws = new WebSocket(url);
    const ok = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('error', () => resolve(false));
    });
    if (ok) return ws;
    ws.terminate();
    if (Date.now() > deadline) throw new Error(`no websocket at ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the load; every process it starts is stopped by its PID before it returns. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const portA = await freePort('127.0.0.111');
  const portB = await freePort('127.0.0.112');
  let a: RunningSipp | undefined = await startSipp({
    scenario: 'uas_options_200.xml',
    address: '127.0.0.111',
    transport: 'udp',
    port: portA,
  });
  const b = await startSipp({ scenario: 'uas_options_200.xml', address: '127.0.0.112', transport: 'udp', port: portB });
  const dir = mkdtempSync(join(tmpdir(), 'sip-load-'));
  const zone = join(dir, 'load.test.zone');
  const lines = [
    '$ORIGIN load.test.',
    '$TTL 300',
    '@ IN SOA ns1 hostmaster 1 3600 600 86400 60',
    '  IN NS ns1',
    'ns1 IN A 127.0.0.1',
    'a IN A 127.0.0.111',
    'b IN A 127.0.0.112',
  ];
  for (let i = 0; i < o.domains; i++)
    lines.push(`_sip._udp.d${i} IN SRV 10 50 ${portA} a`, `_sip._udp.d${i} IN SRV 10 50 ${portB} b`);
  writeFileSync(zone, lines.join('\n') + '\n');
  const dns = await startDnsServer('nsd', { zones: [{ origin: 'load.test', file: zone }] });
  const red = await startNodeRedProcess([], { SIP_LOCATE_EXPOSE_GC: '1' }, { nodeArgs: ['--expose-gc'] });
  const wsPath = '/load';
  const summary = (output: string): Record<string, unknown> => ({
    id: `ld-sum-${output}`,
    type: 'change',
    z: 'ld-tab',
    rules: [
      {
        t: 'set',
        p: 'payload',
        pt: 'msg',
        to: `{"seq": payload.seq, "output": "${output}", "address": sip.target.address, "attempt": sip.attempt}`,
        tot: 'jsonata',
      },
    ],
    wires: [['ld-wsout']],
  });
  await red.deploy([
    { id: 'ld-tab', type: 'tab', label: 'load' },
    { id: 'ld-wsl', type: 'websocket-listener', path: wsPath, wholemsg: 'false' },
    {
      id: 'ld-res',
      type: 'sip-resolver',
      nameservers: dns.nameserver,
      transports: 'udp',
      family: 'ipv4',
      greylist: 300,
    },
    { id: 'ld-wsin', type: 'websocket in', z: 'ld-tab', server: 'ld-wsl', client: '', wires: [['ld-json']] },
    { id: 'ld-json', type: 'json', z: 'ld-tab', property: 'payload', action: 'obj', wires: [['ld-loc']] },
    {
      id: 'ld-loc',
      type: 'sip-locate',
      z: 'ld-tab',
      resolver: 'ld-res',
      uri: 'payload.uri',
      uriType: 'msg',
      wires: [['ld-opt'], ['ld-sum-notfound']],
    },
    {
      id: 'ld-opt',
      type: 'sip-options',
      z: 'ld-tab',
      resolver: 'ld-res',
      timeout: 1000,
      t1: 250,
      wires: [['ld-sum-answered'], ['ld-fail']],
    },
    {
      id: 'ld-fail',
      type: 'sip-target-failed',
      z: 'ld-tab',
      resolver: 'ld-res',
      reason: 'transport',
      wires: [['ld-opt'], ['ld-sum-exhausted']],
    },
    summary('answered'),
    summary('exhausted'),
    summary('notfound'),
    { id: 'ld-wsout', type: 'websocket out', z: 'ld-tab', server: 'ld-wsl', client: '', wires: [] },
    { id: 'ld-mem-in', type: 'http in', z: 'ld-tab', url: '/load-memory', method: 'get', wires: [['ld-mem']] },
    {
      id: 'ld-mem',
      type: 'function',
      z: 'ld-tab',
      func: "const gc = global.get('sipLocateGc');\nif (gc) { gc(); gc(); }\nif (msg.req.query.snapshot) global.get('sipLocateHeapSnapshot')(msg.req.query.snapshot);\nmsg.payload = global.get('sipLocateMemory')();\nreturn msg;",
      outputs: 1,
      wires: [['ld-mem-out']],
    },
    { id: 'ld-mem-out', type: 'http response', z: 'ld-tab', statusCode: '', headers: {}, wires: [] },
  ]);
  // SIP_LOCATE_HEAP_SNAPSHOT=prefix writes <prefix>-start/-end.heapsnapshot for a diff (diagnostics only).
  const snapshotPrefix = process.env.SIP_LOCATE_HEAP_SNAPSHOT;
  const heapAfterGc = async (label: string): Promise<number> => {
    const query = snapshotPrefix ? `?snapshot=${encodeURIComponent(`${snapshotPrefix}-${label}.heapsnapshot`)}` : '';
    const res = await fetch(`${red.url}/load-memory${query}`);
    const m = (await res.json()) as { heapUsed: number };
    return +(m.heapUsed / 1048576).toFixed(1);
  };
  const ws = await connect(red.url.replace('http', 'ws') + wsPath);
  const sentAt = new Map<number, number>();
  const counts = new Map<number, number>();
  const out: Record<string, number> = {};
  const answeredBy: Record<string, number> = {};
  const latencies: number[] = [];
  let failedOver = 0;
  ws.on('message', (data: Buffer) => {
    const r = JSON.parse(data.toString()) as { seq: number; output: string; address?: string; attempt?: number };
    counts.set(r.seq, (counts.get(r.seq) ?? 0) + 1);
    out[r.output] = (out[r.output] ?? 0) + 1;
    if (r.output === 'answered') answeredBy[r.address!] = (answeredBy[r.address!] ?? 0) + 1;
    if ((r.attempt ?? 1) > 1) failedOver++;
    const t = sentAt.get(r.seq);
    if (t !== undefined && counts.get(r.seq) === 1) latencies.push(performance.now() - t);
  });
  const heapStart = await heapAfterGc('start');
  const rssStart = rssMB(red.pid);
  const total = Math.round(o.ratePerSecond * o.seconds);
  const t0 = performance.now();
  let stopped = false;
  let restarted = false;
  // Send in 10 ms ticks at the target rate (bounded: `total` messages, then stop).
  for (let seq = 0; seq < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * o.ratePerSecond) + 1);
    for (; seq < due; seq++) {
      sentAt.set(seq, performance.now());
      ws.send(JSON.stringify({ seq, uri: `sip:user${seq}@d${seq % o.domains}.load.test` }));
    }
    const elapsed = (performance.now() - t0) / 1000;
    if (!stopped && elapsed >= o.stopAt) {
      stopped = true;
      await a!.stop();
      a = undefined;
    }
    if (stopped && !restarted && elapsed >= o.restartAt) {
      restarted = true;
      a = await startSipp({ scenario: 'uas_options_200.xml', address: '127.0.0.111', transport: 'udp', port: portA });
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const deadline = performance.now() + 15000;
  while (counts.size < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const seconds = (performance.now() - t0) / 1000;
  const rssEnd = rssMB(red.pid);
  const heapEnd = await heapAfterGc('end');
  if (counts.size < total) process.stderr.write(`Node-RED log:\n${red.log().slice(-3000)}\n`);
  ws.close();
  await red.stop();
  await dns.stop();
  await a?.stop();
  await b.stop();
  rmSync(dir, { recursive: true, force: true });
  latencies.sort((x, y) => x - y);
  let duplicated = 0;
  for (const n of counts.values()) if (n > 1) duplicated += n - 1;
  return {
    messagesIn: total,
    out,
    lost: total - counts.size,
    duplicated,
    latencyMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: quantile(latencies, 1) },
    answeredBy,
    failedOver,
    rssMB: { start: rssStart, end: rssEnd },
    heapAfterGcMB: { start: heapStart, end: heapEnd },
    seconds: +seconds.toFixed(1),
  };
}
