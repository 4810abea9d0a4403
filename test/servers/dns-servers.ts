/**
 * Real authoritative DNS servers (BIND 9, NSD, Knot) on loopback for tests.
 *
 *   const s = await startDnsServer('nsd', { zones: [{ origin: 'example.test', file: zonePath('example.test.zone') }] });
 *   ... createDnsClient({ nameservers: [s.nameserver] }) ...
 *   await s.stop();
 *
 * Each start writes its config into a fresh temp dir, takes a free port, waits until the server answers an SOA
 * query, and stop() kills exactly the spawned PID and waits for its exit.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as dnsPacket from 'dns-packet';
import { freePort } from './ports';
import { stopChild } from './process';

/** The three real servers. */
export type DnsServerKind = 'bind' | 'nsd' | 'knot';

/** All kinds, in the order tests run them. */
export const DNS_SERVER_KINDS: readonly DnsServerKind[] = ['bind', 'nsd', 'knot'];

/** A zone to serve: its origin and its zone file. */
export interface ZoneSpec {
  origin: string;
  file: string;
}

/** Server variants: BIND full additionals (default), minimal responses, or a 512-byte UDP cap. */
export type DnsServerVariant = 'default' | 'minimal' | 'udp512';

/** A running server. */
export interface RunningDnsServer {
  kind: DnsServerKind;
  address: '127.0.0.1';
  port: number;
  /** "127.0.0.1:PORT", ready for createDnsClient({ nameservers }). */
  nameserver: string;
  pid: number;
  stop(): Promise<void>;
}

const BINARIES: Record<DnsServerKind, { bin: string; pkg: string }> = {
  bind: { bin: 'named', pkg: 'bind9' },
  nsd: { bin: 'nsd', pkg: 'nsd' },
  knot: { bin: 'knotd', pkg: 'knot' },
};

/** The install line shown when a server is missing. */
export const INSTALL_HINT =
  'sudo apt-get install bind9 nsd knot bind9-dnsutils knot-dnsutils sip-tester chromium redis-server redis-sentinel   (or: sudo bash .ci/run)';

/** Path of a zone file under test/zones. */
export function zonePath(file: string): string {
  return join(__dirname, '..', 'zones', file);
}

function which(bin: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']) {
    if (existsSync(join(dir, bin))) return join(dir, bin);
  }
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** True when the server's binary is installed. */
export function serverAvailable(kind: DnsServerKind): boolean {
  return which(BINARIES[kind].bin) !== undefined;
}

/**
 * The skip reason for a test that needs `kind`, or false when it can run. Under CI=true a missing server
 * throws instead, so CI never passes by skipping.
 */
export function skipUnless(kind: DnsServerKind): string | false {
  if (serverAvailable(kind)) return false;
  const msg = `${BINARIES[kind].bin} (Debian package ${BINARIES[kind].pkg}) is not installed; install with: ${INSTALL_HINT}`;
  if (process.env.CI === 'true') throw new Error(`CI: ${msg}`);
  process.stderr.write(`\n*** SKIPPED real-server test: ${msg}\n`);
  return msg;
}

const DEFAULT_ZONES: ZoneSpec[] = [{ origin: 'example.test', file: zonePath('example.test.zone') }];

function bindConfig(dir: string, port: number, zones: ZoneSpec[], variant: DnsServerVariant): string {
  const minimal = variant === 'minimal' ? 'yes' : 'no';
  const udp = variant === 'udp512' ? 'max-udp-size 512; edns-udp-size 512;' : '';
  return `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  minimal-responses ${minimal};
  ${udp}
  notify no;
  server-id none; version none; hostname none;
};
controls { };
logging { channel stderr_ch { stderr; severity warning; }; category default { stderr_ch; }; category lame-servers { null; }; };
${zones.map((z) => `zone "${z.origin}" { type primary; file "${dir}/${basename(z.file)}"; };`).join('\n')}
`;
}

function nsdConfig(dir: string, port: number, zones: ZoneSpec[], variant: DnsServerVariant): string {
  return `server:
  ip-address: 127.0.0.1@${port}
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "${dir}"
  database: ""
  pidfile: "${dir}/nsd.pid"
  xfrdfile: "${dir}/xfrd.state"
  zonelistfile: "${dir}/zone.list"
  xfrdir: "${dir}"
  logfile: "${dir}/nsd.log"
  verbosity: 0
  hide-version: yes
  refuse-any: yes
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  ${variant === 'udp512' ? 'ipv4-edns-size: 512' : ''}
  ${variant === 'minimal' ? 'minimal-responses: yes' : ''}
remote-control:
  control-enable: no
${zones.map((z) => `zone:\n  name: "${z.origin}"\n  zonefile: "${basename(z.file)}"`).join('\n')}
`;
}

function knotConfig(dir: string, port: number, zones: ZoneSpec[]): string {
  return `server:
  listen: 127.0.0.1@${port}
  rundir: "${dir}"
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: "${dir}/db"
control:
  listen: "${dir}/knot.sock"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
${zones.map((z) => `  - domain: ${z.origin}\n    file: "${basename(z.file)}"`).join('\n')}
`;
}

/** Asks the server for the first zone's SOA once, waiting up to ms; resolves true on a NOERROR answer. */
function probe(port: number, origin: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => done(false), ms);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // closed
      }
      resolve(ok);
    };
    sock.on('error', () => done(false));
    sock.on('message', (buf) => {
      try {
        const p = dnsPacket.decode(buf);
        done((p as { rcode?: string }).rcode === 'NOERROR' && (p.answers?.length ?? 0) > 0);
      } catch {
        done(false);
      }
    });
    sock.send(
      dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'SOA', name: origin }] }),
      port,
      '127.0.0.1',
    );
  });
}

/** Starts a real server on a free loopback port and waits (at most 10 s) until it answers. */
export async function startDnsServer(
  kind: DnsServerKind,
  opts: { zones?: ZoneSpec[]; variant?: DnsServerVariant } = {},
): Promise<RunningDnsServer> {
  const zones = opts.zones ?? DEFAULT_ZONES;
  const variant = opts.variant ?? 'default';
  const bin = which(BINARIES[kind].bin);
  if (!bin) throw new Error(`${BINARIES[kind].bin} is not installed (${INSTALL_HINT})`);
  const dir = mkdtempSync(join(tmpdir(), `sip-locate-${kind}-`));
  for (const z of zones) copyFileSync(z.file, join(dir, basename(z.file)));
  const port = await freePort();
  let args: string[];
  if (kind === 'bind') {
    writeFileSync(join(dir, 'named.conf'), bindConfig(dir, port, zones, variant));
    args = ['-g', '-n', '1', '-c', join(dir, 'named.conf')];
  } else if (kind === 'nsd') {
    writeFileSync(join(dir, 'nsd.conf'), nsdConfig(dir, port, zones, variant));
    args = ['-d', '-c', join(dir, 'nsd.conf')];
  } else {
    mkdirSync(join(dir, 'db'));
    writeFileSync(join(dir, 'knot.conf'), knotConfig(dir, port, zones));
    args = ['-c', join(dir, 'knot.conf')];
  }
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 8000) stderr += d.toString();
  });
  const stop = async (): Promise<void> => {
    await stopChild(child, 3000);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  // A question sent before the server listens is lost: ask again soon, then wait longer each time (up to 10 s for a reply).
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (child.exitCode !== null) break;
    if (await probe(port, zones[0]!.origin, Math.min(200 * 2 ** attempt, 10_000))) {
      return { kind, address: '127.0.0.1', port, nameserver: `127.0.0.1:${port}`, pid: child.pid!, stop };
    }
  }
  await stop();
  throw new Error(`${kind} did not start on port ${port}: ${stderr.slice(0, 2000)}`);
}
