/**
 * Bench figures for a SIP proxy asking Node-RED (example 06) through Kamailio with the shipped async kamailio.cfg
 * (reported as proxy.<name>): OPTIONS are sent from Node over UDP and timed from send to the 200.
 * - addedMsP50: a warm sticky request with the lookup minus the same request with a fixed destination (p50s).
 * - failoverMs: a request whose first target answers 503 (reported through the async workers) minus a warm request.
 * - addedMsP99At200: p99 with the lookup minus p99 with a fixed destination, 200 requests/s sent open-loop, 4 children.
 * - freezeRcvbufErrors: UDP receive-buffer drops of Kamailio's socket (/proc/net/udp; the machine-wide RcvbufErrors
 *   of /proc/net/snmp, which other jobs add to, beside it) while the first Node-RED is frozen (SIGSTOP) for 5 s
 *   under 50 requests/s.
 * - authFloodP99Ratio: lookup p99 at 50 requests/s while 200 requests/s with a wrong secret hit /route, over the p99
 *   without them.
 * The p99 figures alternate their two phases in ROUNDS rounds and report the median over the rounds of each round's
 * figure (the p99s over all rounds are given as *Pooled), so that a stall of the shared machine in one phase does not
 * decide the figure.
 */
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { rcvbufErrors, sendSip, startKamailio, udpDrops } from '../servers/kamailio';
import { LAB_RESOLVER, startKamailioLab, type KamailioLab } from '../servers/kamailio-lab';

const STICKY = 'sip:alice@sticky.kam.test';
/** Rounds of the interleaved p99 measurements (each round: one phase of each kind). */
const ROUNDS = 10;
const quantile = (xs: number[], q: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Sends `count` OPTIONS for `ruri` to port, one every 1000/rate ms whatever the answers do, and resolves with their times. */
async function openLoop(
  sock: Socket,
  port: number,
  ruri: string,
  rate: number,
  count: number,
  during?: (i: number) => void,
): Promise<number[]> {
  const pending: Array<Promise<number>> = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise<void>((r) => setTimeout(r, wait));
    during?.(i);
    pending.push(sendSip(sock, port, 'OPTIONS', ruri, 15_000).then((a) => a.ms));
  }
  return Promise.all(pending);
}

/** The figures, with the lookup path's and the fixed path's own times beside them. */
export async function benchProxy(runs = 300): Promise<Record<string, number | boolean>> {
  const lab = await startKamailioLab();
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  try {
    const warm = async (port: number, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await sendSip(sock, port, 'OPTIONS', STICKY);
    };
    await warm(lab.kamailio.port, 50);
    const state = (await (await fetch(`${lab.red.adminUrl}/sip-resolver/${LAB_RESOLVER}/state`)).json()) as {
      pins: Array<{ destination: string; target: { uri: string } }>;
    };
    const pinned = state.pins.find((p) => p.destination.includes('sticky.kam.test'))!.target.uri;
    // The same config with a fixed destination (the pinned server) instead of the async lookup.
    const lookupLine = '\tif (!async_task_route("LOCATE_NEW")) t_reply("500", "Lookup not started");\n';
    const fixedConfig = lab.config.replace(
      lookupLine,
      `\t$du = "${pinned}";\n\tif (!t_relay()) t_reply("500", "Relay failed");\n`,
    );
    if (fixedConfig === lab.config)
      throw new Error('the kamailio.cfg no longer has the async_task_route call the bench replaces');
    const fixed = await startKamailio(fixedConfig, lab.substitutions);
    try {
      await warm(fixed.port, 50);
      const withLookup: number[] = [];
      const direct: number[] = [];
      for (let i = 0; i < runs; i++) {
        withLookup.push((await sendSip(sock, lab.kamailio.port, 'OPTIONS', STICKY)).ms);
        direct.push((await sendSip(sock, fixed.port, 'OPTIONS', STICKY)).ms);
      }
      const failover: number[] = [];
      const warmAfterReset: number[] = [];
      for (let i = 0; i < Math.min(runs, 100); i++) {
        const reset = await fetch(`${lab.red.adminUrl}/sip-resolver/${LAB_RESOLVER}/reset`, { method: 'POST' });
        await reset.arrayBuffer();
        await sendSip(sock, lab.kamailio.port, 'OPTIONS', STICKY);
        warmAfterReset.push((await sendSip(sock, lab.kamailio.port, 'OPTIONS', STICKY)).ms);
        failover.push((await sendSip(sock, lab.kamailio.port, 'OPTIONS', 'sip:alice@busy.kam.test')).ms);
      }
      // 200/s, 1 s on the lookup path and 1 s on the fixed one in turn, ROUNDS times: load from other jobs hits both alike.
      const at200: number[] = [];
      const fixedAt200: number[] = [];
      const addedPerRound: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const lookup = await openLoop(sock, lab.kamailio.port, STICKY, 200, 200);
        const direct = await openLoop(sock, fixed.port, STICKY, 200, 200);
        addedPerRound.push(quantile(lookup, 0.99) - quantile(direct, 0.99));
        at200.push(...lookup);
        fixedAt200.push(...direct);
      }
      const flood = await authFlood(lab, sock);
      const freeze = await freezeDrops(lab, sock);
      return {
        addedMsP50: r3(quantile(withLookup, 0.5) - quantile(direct, 0.5)),
        failoverMs: r3(quantile(failover, 0.5) - quantile(warmAfterReset, 0.5)),
        addedMsP99At200: r3(quantile(addedPerRound, 0.5)),
        freezeRcvbufErrors: freeze.drops,
        authFloodP99Ratio: r3(quantile(flood.ratios, 0.5)),
        addedMsP99At200Pooled: r3(quantile(at200, 0.99) - quantile(fixedAt200, 0.99)),
        authFloodP99RatioPooled: r3(flood.p99Flood / flood.p99Normal),
        lookupMsP50: r3(quantile(withLookup, 0.5)),
        fixedMsP50: r3(quantile(direct, 0.5)),
        lookupMsP99At200: r3(quantile(at200, 0.99)),
        fixedMsP99At200: r3(quantile(fixedAt200, 0.99)),
        authFloodP99Ms: r3(flood.p99Flood),
        authNormalP99Ms: r3(flood.p99Normal),
        authFloodRejected: flood.rejected,
        freezeRcvbufErrorsMachine: freeze.machineDrops,
        freezeCallsRoutedBySecondary: freeze.bySecondary,
        freezeAnswered: freeze.answered,
        runs,
      };
    } finally {
      await fixed.stop();
    }
  } finally {
    sock.close();
    await lab.stop();
  }
}

/**
 * A client in its own process sending `rate` GETs a second to `url` with `headers` over kept connections (at most two
 * per 2 ms tick, so that a pause with SIGSTOP ends without a burst); prints its 401 count on SIGTERM.
 */
const FLOOD_CLIENT = `
const http = require('node:http');
const [url, headers, rate] = [process.argv[1], JSON.parse(process.argv[2]), Number(process.argv[3])];
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
let rejected = 0;
let last = Date.now();
let owed = 0;
const timer = setInterval(() => {
  const now = Date.now();
  owed = Math.min(2, owed + ((now - last) * rate) / 1000);
  last = now;
  for (; owed >= 1; owed--) http.get(url, { agent, headers }, (res) => { if (res.statusCode === 401) rejected++; res.resume(); }).on('error', () => {});
}, 2);
process.on('SIGTERM', () => { clearInterval(timer); process.stdout.write(String(rejected)); process.exit(0); });
`;

/**
 * Lookup p99 through Kamailio at 50/s, without and with 200 requests/s carrying a wrong secret from another process:
 * 2 s of each in turn, ROUNDS times (the flood client is paused with SIGSTOP between its phases).
 */
async function authFlood(
  lab: KamailioLab,
  sock: Socket,
): Promise<{ p99Normal: number; p99Flood: number; ratios: number[]; rejected: number }> {
  const wrong = { authorization: `Basic ${Buffer.from('kamailio:not-the-secret').toString('base64')}` };
  const url = `${lab.red.url}/route?uri=${encodeURIComponent(STICKY)}`;
  const flooder = spawn(process.execPath, ['-e', FLOOD_CLIENT, url, JSON.stringify(wrong), '200'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  flooder.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const normal: number[] = [];
  const underFlood: number[] = [];
  const ratios: number[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      flooder.kill('SIGSTOP');
      const quiet = await openLoop(sock, lab.kamailio.port, STICKY, 50, 100);
      flooder.kill('SIGCONT');
      const loud = await openLoop(sock, lab.kamailio.port, STICKY, 50, 100);
      ratios.push(quantile(loud, 0.99) / quantile(quiet, 0.99));
      normal.push(...quiet);
      underFlood.push(...loud);
    }
  } finally {
    flooder.kill('SIGCONT');
    flooder.kill('SIGTERM');
    await new Promise<void>((r) => flooder.once('exit', () => r()));
  }
  return {
    p99Normal: quantile(normal, 0.99),
    p99Flood: quantile(underFlood, 0.99),
    ratios,
    rejected: Number(out) || 0,
  };
}

/** UDP receive-buffer errors while the first Node-RED is frozen for 5 s under 50 requests/s (2 s before, 2 s after). */
async function freezeDrops(
  lab: KamailioLab,
  sock: Socket,
): Promise<{ drops: number; machineDrops: number; answered: number; bySecondary: number }> {
  const before = udpDrops(lab.kamailio.port);
  const machineBefore = rcvbufErrors();
  const from = lab.kamailio.logLength();
  let thawed = false;
  const thaw = (): void => {
    if (thawed) return;
    thawed = true;
    process.kill(lab.red.pid, 'SIGCONT');
  };
  try {
    // Request 100 (2 s in) freezes Node-RED, request 350 (7 s in) lets it run again: 5 s of the load.
    const times = await openLoop(sock, lab.kamailio.port, STICKY, 50, 450, (i) => {
      if (i === 100) process.kill(lab.red.pid, 'SIGSTOP');
      if (i === 350) thaw();
    });
    const bySecondary = [...lab.kamailio.logSince(from).matchAll(/ROUTED OPTIONS \S+ \S+ by nodered_b/g)].length;
    return {
      drops: udpDrops(lab.kamailio.port) - before,
      machineDrops: rcvbufErrors() - machineBefore,
      answered: times.length,
      bySecondary,
    };
  } finally {
    thaw();
  }
}
