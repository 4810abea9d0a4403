/**
 * A real Redis Cluster for tests: six redis-server processes (three primaries, three replicas) on free loopback
 * ports, each in its own temp dir and stopped by its own PID, joined with `redis-cli --cluster create`.
 */
import { spawnSync } from 'node:child_process';
import { freePort } from './ports';
import { startRedis, type RunningRedis } from './redis';

/** A running cluster. */
export interface RunningCluster {
  nodes: RunningRedis[];
  /** "127.0.0.1:port" of every node, as seeds. */
  seeds: string[];
  /** The node that is primary for `key`'s slot now, and its replica (asks a node that is still up). */
  ownerOf(key: string): { primary: RunningRedis; replica: RunningRedis | undefined };
  /** One command through redis-cli on a node, its reply as text. */
  cli(node: RunningRedis, ...args: string[]): string;
  stop(): Promise<void>;
}

/** True when redis-cli is installed (redis-server is checked by skipUnlessRedis). */
export function redisCliAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-cli'], { encoding: 'utf8' }).status === 0;
}

function cli(node: RunningRedis, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(node.port), ...args], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return r.stdout ?? '';
}

interface NodeLine {
  id: string;
  port: number;
  master: boolean;
  failed: boolean;
  masterId: string;
  slots: Array<[number, number]>;
}

function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split(' ');
      const port = Number(/:(\d+)@/.exec(f[1] ?? '')?.[1]);
      const slots = f
        .slice(8)
        .filter((s) => /^\d/.test(s))
        .map((s): [number, number] => {
          const [a, b] = s.split('-').map(Number);
          return [a!, b ?? a!];
        });
      return {
        id: f[0]!,
        port,
        master: (f[2] ?? '').includes('master'),
        failed: (f[2] ?? '').includes('fail'),
        masterId: f[3] ?? '-',
        slots,
      };
    });
}

/** Starts six nodes with `cluster-node-timeout` 1000 ms and joins them (one replica per primary); resolves once the cluster is ok. */
export async function startCluster(): Promise<RunningCluster> {
  const nodes: RunningRedis[] = [];
  try {
    // The bus gets its own free port (by default it is port + 10000, which may be taken or past 65535).
    for (let i = 0; i < 6; i++)
      nodes.push(
        await startRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '1000',
            '--repl-diskless-sync-delay',
            '0',
            '--cluster-port',
            String(await freePort('127.0.0.1')),
            ...(process.env.CLDEBUG ? ['--logfile', `/tmp/cl-${i}.log`] : []),
          ],
        }),
      );
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${(created.stdout + created.stderr).slice(-2000)}`);
    const deadline = Date.now() + 60_000;
    // Ready when every node says the cluster is ok and knows three replicas, and each replica has synced (else it may not fail over).
    const ready = (n: RunningRedis): boolean => {
      if (
        !cli(n, 'CLUSTER', 'INFO').includes('cluster_state:ok') ||
        parseNodes(cli(n, 'CLUSTER', 'NODES')).filter((l) => !l.master).length !== 3
      )
        return false;
      const info = cli(n, 'INFO', 'replication');
      return info.includes('role:master') || info.includes('master_link_status:up');
    };
    while (!nodes.every(ready)) {
      if (Date.now() > deadline) throw new Error('the cluster did not become ok within 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    for (const n of nodes) await n.stop();
    throw err;
  }
  const byPort = (port: number): RunningRedis | undefined => nodes.find((n) => n.port === port);
  return {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`),
    cli,
    ownerOf(key) {
      for (const asked of nodes) {
        const text = cli(asked, 'CLUSTER', 'NODES');
        const slot = Number(cli(asked, 'CLUSTER', 'KEYSLOT', key).trim());
        if (!text || !Number.isInteger(slot)) continue;
        const lines = parseNodes(text);
        const owner = lines.find((l) => l.master && !l.failed && l.slots.some(([a, b]) => slot >= a && slot <= b));
        if (!owner) continue;
        const replica = lines.find((l) => !l.master && !l.failed && l.masterId === owner.id);
        return { primary: byPort(owner.port)!, replica: replica && byPort(replica.port) };
      }
      throw new Error(`no node answers for the slot of ${key}`);
    },
    async stop() {
      for (const n of nodes) await n.stop().catch(() => undefined);
    },
  };
}
