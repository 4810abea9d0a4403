/**
 * A real Kamailio (Debian kamailio, kamailio-utils-modules, kamailio-json-modules) for tests: the config is written
 * into a temp dir, Kamailio runs in the foreground on a loopback port and is stopped by its own PID.
 *
 *   const k = await startKamailio(cfgText);   // cfgText listens on udp:127.0.0.1:<k.port> (see below)
 *   ... send SIP to 127.0.0.1:k.port ...
 *   await k.stop();
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_HINT } from './dns-servers';
import { freePort } from './ports';
import { stopChild } from './process';
import { portBound } from './sipp';

const BINARY = '/usr/sbin/kamailio';
const MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules';
/** Characters of Kamailio's log kept in memory: about 30,000 ROUTED lines, more than a test or bench run logs. */
const LOG_KEPT = 4_000_000;

/** A running Kamailio. */
export interface RunningKamailio {
  port: number;
  pid: number;
  /** What Kamailio logged lately (stderr, the last LOG_KEPT characters). */
  log(): string;
  /** How many characters Kamailio logged since it started: an offset for logSince(). */
  logLength(): number;
  /** What Kamailio logged after offset `from` (a logLength() taken earlier), as far as it is still kept. */
  logSince(from: number): string;
  stop(): Promise<void>;
}

/** The skip reason when Kamailio or its http_client/json modules are missing (throws under CI=true), or false. */
export function skipUnlessKamailio(): string | false {
  const missing = [BINARY, join(MODULES, 'http_client.so'), join(MODULES, 'json.so')].filter((f) => !existsSync(f));
  if (missing.length === 0) return false;
  const msg = `Kamailio is not installed (${missing.join(', ')} missing); install kamailio kamailio-utils-modules kamailio-json-modules (${INSTALL_HINT})`;
  if (process.env.CI === 'true') throw new Error(`CI: ${msg}`);
  process.stderr.write(`\n*** SKIPPED kamailio test: ${msg}\n`);
  return msg;
}

/**
 * Starts Kamailio with `config`, in which `listen=udp:127.0.0.1:5060` is replaced by a free port; waits until it listens.
 * `replace` gives further text substitutions (e.g. the Node-RED URL).
 */
export async function startKamailio(
  config: string,
  replace: Array<[string, string]> = [],
  opts: { shmMb?: number } = {},
): Promise<RunningKamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'sip-kamailio-'));
  const port = await freePort('127.0.0.1');
  let text = config.replace('listen=udp:127.0.0.1:5060', `listen=udp:127.0.0.1:${port}`);
  for (const [from, to] of replace) text = text.split(from).join(to);
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, text);
  const child = spawn(
    BINARY,
    [
      '-f',
      cfg,
      '-DD',
      '-E',
      '-m',
      String(opts.shmMb ?? 32),
      '-M',
      '8',
      '-Y',
      dir,
      '-P',
      join(dir, 'kamailio.pid'),
      '-w',
      dir,
      '-L',
      MODULES,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  let dropped = 0;
  const take = (d: Buffer): void => {
    log += d.toString();
    if (log.length > LOG_KEPT) {
      dropped += log.length - LOG_KEPT;
      log = log.slice(-LOG_KEPT);
    }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const stop = async (): Promise<void> => {
    await stopChild(child, 3000);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await portBound('127.0.0.1', port, 'udp')) {
      return {
        port,
        pid: child.pid!,
        log: () => log,
        logLength: () => dropped + log.length,
        logSince: (from) => log.slice(Math.max(0, from - dropped)),
        stop,
      };
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop();
  throw new Error(`Kamailio did not start on 127.0.0.1:${port}: ${log.slice(-3000)}`);
}

/** Requests in flight per socket, by Call-ID: one 'message' listener per socket hands each response to its request. */
const inFlight = new WeakMap<Socket, Map<string, (text: string, status: RegExpExecArray) => void>>();

function waitersOf(sock: Socket): Map<string, (text: string, status: RegExpExecArray) => void> {
  let waiting = inFlight.get(sock);
  if (!waiting) {
    const map = new Map<string, (text: string, status: RegExpExecArray) => void>();
    sock.on('message', (data: Buffer) => {
      const text = data.toString('latin1');
      const status = /^SIP\/2\.0 (\d{3}) ([^\r\n]*)/.exec(text);
      const callId = /^(?:Call-ID|i)\s*:\s*(\S+)/im.exec(text)?.[1];
      if (status && callId) map.get(callId)?.(text, status);
    });
    inFlight.set(sock, map);
    waiting = map;
  }
  return waiting;
}

/** A final response to sendSip(): its status code, reason phrase, and the ms from send to its arrival. */
export interface SipAnswer {
  status: number;
  reason: string;
  ms: number;
}

/**
 * Sends one out-of-dialog request (OPTIONS, INVITE, ...) for `ruri` to 127.0.0.1:port from `sock` and resolves with the
 * first final response; a negative reply to an INVITE is acknowledged. Rejects after `timeoutMs` (default 10 s).
 */
export function sendSip(
  sock: Socket,
  port: number,
  method: string,
  ruri: string,
  timeoutMs = 10_000,
): Promise<SipAnswer> {
  const waiting = waitersOf(sock);
  const callId = randomUUID();
  const local = sock.address().port;
  const via = `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${callId.slice(0, 13)};rport`;
  const head = (m: string, cseq: string): string[] => [
    `${m} ${ruri} SIP/2.0`,
    via,
    'From: <sip:test@127.0.0.1>;tag=t1',
    `To: <${ruri}>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq}`,
    'Max-Forwards: 70',
  ];
  const request = [
    ...head(method, `1 ${method}`),
    `Contact: <sip:test@127.0.0.1:${local}>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(callId);
      reject(new Error(`no final response to ${method} ${ruri} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (text: string, status: RegExpExecArray): void => {
      if (Number(status[1]) < 200) return;
      const ms = performance.now() - t0;
      clearTimeout(timer);
      waiting.delete(callId);
      if (method === 'INVITE' && Number(status[1]) >= 300) {
        const to = /^To:[^\r\n]*/im.exec(text)?.[0] ?? `To: <${ruri}>`;
        const ack = [
          `ACK ${ruri} SIP/2.0`,
          via,
          'From: <sip:test@127.0.0.1>;tag=t1',
          to,
          `Call-ID: ${callId}`,
          'CSeq: 1 ACK',
          'Max-Forwards: 70',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n');
        sock.send(ack, port, '127.0.0.1');
      }
      resolve({ status: Number(status[1]), reason: status[2]!, ms });
    };
    waiting.set(callId, onMessage);
    const t0 = performance.now();
    sock.send(request, port, '127.0.0.1');
  });
}

/** UDP receive-buffer drops so far on the whole machine, from /proc/net/snmp (Udp: RcvbufErrors). */
export function rcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('RcvbufErrors')]);
}

/**
 * Datagrams dropped so far by the UDP socket bound to 127.0.0.1:port (the `drops` column of /proc/net/udp): the
 * receive-buffer drops of that socket alone, which /proc/net/snmp's RcvbufErrors adds up for the whole machine.
 */
export function udpDrops(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local) drops += Number(f[12]);
  }
  return drops;
}
