/**
 * Real SIP servers for tests: sipp (Debian sip-tester) UAS instances answering OPTIONS on loopback.
 *
 *   const uas = await startSipp({ scenario: 'uas_options_200.xml', address: '127.0.0.51', transport: 'udp' });
 *   ... send to uas.address:uas.port ...
 *   await uas.stop();
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ports';
import { INSTALL_HINT } from './dns-servers';
import { stopChild } from './process';

/** A running sipp UAS. */
export interface RunningSipp {
  address: string;
  port: number;
  transport: 'udp' | 'tcp';
  pid: number;
  stop(): Promise<void>;
}

/** True when sipp is installed. */
export function sippAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v sipp'], { encoding: 'utf8' }).status === 0;
}

/** The skip reason when sipp is missing (throws under CI=true), or false. */
export function skipUnlessSipp(): string | false {
  if (sippAvailable()) return false;
  const msg = `sipp (Debian package sip-tester) is not installed; install with: ${INSTALL_HINT}`;
  if (process.env.CI === 'true') throw new Error(`CI: ${msg}`);
  process.stderr.write(`\n*** SKIPPED sipp test: ${msg}\n`);
  return msg;
}

/** Path of a scenario file under test/sip. */
export function scenarioPath(file: string): string {
  return join(__dirname, '..', 'sip', file);
}

/** True when something listens on address:port (IPv4; read from /proc/net, so the check never takes the port itself). */
export function portBound(address: string, port: number, transport: 'udp' | 'tcp'): Promise<boolean> {
  const hexIp = address
    .split('.')
    .reverse()
    .map((b) => Number(b).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  const local = `${hexIp}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const table = readFileSync(`/proc/net/${transport}`, 'utf8');
  const state = transport === 'tcp' ? '0A' : '07';
  return Promise.resolve(
    table.split('\n').some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1] === local && f[3] === state;
    }),
  );
}

/** Starts one sipp UAS on address:port (a free port when none is given) and waits until it listens. */
export async function startSipp(o: {
  scenario: string;
  address: string;
  transport: 'udp' | 'tcp';
  port?: number;
}): Promise<RunningSipp> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startSippOnce(o);
    } catch (err) {
      // A free port can be taken by a parallel test between the check and sipp's bind: try again with new ones.
      if (attempt >= 4 || !/errno = 98/.test(String(err))) throw err;
    }
  }
}

async function startSippOnce(o: {
  scenario: string;
  address: string;
  transport: 'udp' | 'tcp';
  port?: number;
}): Promise<RunningSipp> {
  const port = o.port ?? (await freePort(o.address));
  const controlPort = await freePort('127.0.0.1');
  const mediaPort = await freePort(o.address);
  const args = [
    '-sf',
    scenarioPath(o.scenario),
    '-i',
    o.address,
    '-p',
    String(port),
    '-t',
    o.transport === 'udp' ? 'u1' : 't1',
    '-nostdin',
    '-skip_rlimit',
    '-cp',
    String(controlPort),
    '-mi',
    o.address,
    '-mp',
    String(mediaPort),
  ];
  const child = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  const stop = (): Promise<void> => stopChild(child, 2000);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await portBound(o.address, port, o.transport))
      return { address: o.address, port, transport: o.transport, pid: child.pid!, stop };
    await new Promise((r) => setTimeout(r, 5));
  }
  await stop();
  throw new Error(`sipp did not start on ${o.address}:${port}/${o.transport}: ${stderr.slice(0, 1000)}`);
}
