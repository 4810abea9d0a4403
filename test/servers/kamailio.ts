/**
 * A real Kamailio (Debian kamailio, kamailio-utils-modules, kamailio-json-modules) for tests: the config is written
 * into a temp dir, Kamailio runs in the foreground on a loopback port and is stopped by its own PID.
 *
 *   const k = await startKamailio(cfgText);   // cfgText listens on udp:127.0.0.1:<k.port> (see below)
 *   ... send SIP to 127.0.0.1:k.port ...
 *   await k.stop();
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_HINT } from './dns-servers';
import { freePort } from './ports';
import { stopChild } from './process';
import { portBound } from './sipp';

const BINARY = '/usr/sbin/kamailio';
const MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules';

/** A running Kamailio. */
export interface RunningKamailio {
  port: number;
  pid: number;
  /** Everything Kamailio logged so far (stderr, capped). */
  log(): string;
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
export async function startKamailio(config: string, replace: Array<[string, string]> = []): Promise<RunningKamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'sip-kamailio-'));
  const port = await freePort('127.0.0.1');
  let text = config.replace('listen=udp:127.0.0.1:5060', `listen=udp:127.0.0.1:${port}`);
  for (const [from, to] of replace) text = text.split(from).join(to);
  const cfg = join(dir, 'kamailio.cfg');
  writeFileSync(cfg, text);
  const child = spawn(BINARY, ['-f', cfg, '-DD', '-E', '-m', '32', '-M', '8', '-Y', dir, '-P', join(dir, 'kamailio.pid'), '-w', dir, '-L', MODULES], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const take = (d: Buffer): void => {
    log = (log + d.toString()).slice(-200_000);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const stop = async (): Promise<void> => {
    await stopChild(child, 3000);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await portBound('127.0.0.1', port, 'udp')) return { port, pid: child.pid!, log: () => log, stop };
    await new Promise((r) => setTimeout(r, 20));
  }
  await stop();
  throw new Error(`Kamailio did not start on 127.0.0.1:${port}: ${log.slice(-3000)}`);
}
