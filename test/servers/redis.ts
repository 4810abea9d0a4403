/**
 * A real Redis for tests: redis-server (Debian package redis-server) on a loopback port, no persistence,
 * stopped by its own PID. kill() drops it hard mid-run; restart() brings it back, empty, on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_HINT } from './dns-servers';
import { freePort } from './ports';
import { stopChild, waitExit } from './process';

/** A running redis-server. */
export interface RunningRedis {
  url: string;
  port: number;
  /** PID of the current process. */
  pid(): number;
  /** SIGKILL, as a crash would; resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** One command over a fresh connection, for assertions (inline protocol). */
  command(line: string): Promise<string>;
  stop(): Promise<void>;
}

/** True when redis-server is installed. */
export function redisAvailable(): boolean {
  return (
    spawnSync('sh', ['-c', 'command -v redis-server || test -x /usr/bin/redis-server'], { encoding: 'utf8' }).status ===
    0
  );
}

/** The skip reason when redis-server is missing (throws under CI=true), or false. */
export function skipUnlessRedis(): string | false {
  if (redisAvailable()) return false;
  const msg = `redis-server is not installed; install with: ${INSTALL_HINT}`;
  if (process.env.CI === 'true') throw new Error(`CI: ${msg}`);
  process.stderr.write(`\n*** SKIPPED redis test: ${msg}\n`);
  return msg;
}

/** Sends one inline command and resolves with the raw reply. */
function rawCommand(port: number, line: string, ms = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on ${port}: no reply to ${line} within ${ms} ms`));
    }, ms);
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (d) => {
      data += d.toString();
      if (data.endsWith('\r\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(data);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Starts redis-server on 127.0.0.1 and the given or a free port; resolves once it answers PING. */
export async function startRedis(opts: { port?: number; args?: string[] } = {}): Promise<RunningRedis> {
  const port = opts.port ?? (await freePort('127.0.0.1'));
  const dir = mkdtempSync(join(tmpdir(), 'sip-redis-'));
  let child: ChildProcess;
  let log = '';
  const launch = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--protected-mode',
        'yes',
        '--daemonize',
        'no',
        '--notify-keyspace-events',
        '',
        ...(opts.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d) => (log = (log + d).slice(-5000)));
    child.stderr?.on('data', (d) => (log = (log + d).slice(-5000)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${log}`);
      try {
        if ((await rawCommand(port, 'PING')).startsWith('+PONG')) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await stopChild(child, 1000);
        throw new Error(`redis-server did not answer on port ${port}: ${log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    pid: () => child.pid!,
    async kill() {
      child.kill('SIGKILL');
      await waitExit(child);
    },
    restart: launch,
    command: (line) => rawCommand(port, line),
    async stop() {
      await stopChild(child, 3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Sentinel group: one primary, one replica and three sentinels, all on loopback. */
export interface RunningSentinels {
  masterName: string;
  /** "127.0.0.1:port" of each sentinel. */
  sentinels: string[];
  primary: RunningRedis;
  replica: RunningRedis;
  /** The port the sentinels name as primary now (asks the first sentinel that answers). */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

/** True when redis-sentinel is installed. */
export function sentinelAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-sentinel'], { encoding: 'utf8' }).status === 0;
}

/** The skip reason when redis-sentinel is missing (throws under CI=true), or false. */
export function skipUnlessSentinel(): string | false {
  if (sentinelAvailable()) return false;
  const msg = `redis-sentinel is not installed; install with: ${INSTALL_HINT}`;
  if (process.env.CI === 'true') throw new Error(`CI: ${msg}`);
  process.stderr.write(`\n*** SKIPPED redis-sentinel test: ${msg}\n`);
  return msg;
}

/** Starts a primary, a replica of it and three sentinels watching it (quorum 2, down after 500 ms). */
export async function startSentinels(): Promise<RunningSentinels> {
  const masterName = 'sipmaster';
  const primary = await startRedis();
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const dir = mkdtempSync(join(tmpdir(), 'sip-sentinel-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort('127.0.0.1');
    const conf = join(dir, `sentinel${i}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${masterName} 500`,
        `sentinel failover-timeout ${masterName} 2000`,
        `sentinel parallel-syncs ${masterName} 1`,
        '',
      ].join('\n'),
    );
    children.push(spawn('redis-sentinel', [conf], { stdio: 'ignore' }));
    ports.push(port);
  }
  const ask = async (port: number): Promise<number | undefined> => {
    try {
      const reply = await rawCommand(port, `SENTINEL get-master-addr-by-name ${masterName}`);
      const m = /\$\d+\r\n[^\r]+\r\n\$\d+\r\n(\d+)\r\n/.exec(reply);
      return m ? Number(m[1]) : undefined;
    } catch {
      return undefined;
    }
  };
  // Ready once every sentinel knows the primary and sees the replica and the other two sentinels.
  const deadline = Date.now() + 30_000;
  for (;;) {
    let ready = 0;
    for (const port of ports) {
      try {
        const info = await rawCommand(port, `SENTINEL master ${masterName}`);
        if (/num-slaves\r\n[^\r]*\r\n1\r\n/.test(info) && /num-other-sentinels\r\n[^\r]*\r\n2\r\n/.test(info)) ready++;
      } catch {
        // not up yet
      }
    }
    if (ready === 3) break;
    if (Date.now() > deadline) throw new Error('the sentinels did not see the replica and each other within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    masterName,
    sentinels: ports.map((p) => `127.0.0.1:${p}`),
    primary,
    replica,
    async primaryPort() {
      for (const port of ports) {
        const p = await ask(port);
        if (p !== undefined) return p;
      }
      return -1;
    },
    async stop() {
      for (const c of children) await stopChild(c, 3000);
      await replica.stop();
      await primary.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
