/** A real Node-RED process for tests, plus a client of its admin API and Debug sidebar (comms websocket). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePort } from './ports';

/** One message the Debug sidebar would show. */
export interface DebugMessage {
  id: string;
  name?: string;
  msg: unknown;
}

/** A running Node-RED with helpers. */
export interface NodeRedProcess {
  /** Where http-in endpoints answer. */
  url: string;
  /** Where the editor and admin API answer: url, or url + SIP_LOCATE_HTTP_ADMIN_ROOT. */
  adminUrl: string;
  pid: number;
  debug: DebugMessage[];
  /** Node statuses as the editor receives them, oldest first. */
  statuses: Array<{ id: string; fill?: string; shape?: string; text?: string }>;
  /** Resolves with the next debug message from node `id` (after `after` messages of it were seen). */
  waitDebug(id: string, ms?: number): Promise<DebugMessage>;
  inject(id: string): Promise<void>;
  deploy(flows: unknown[]): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

type DemoModule = {
  startNodeRed(
    o: Record<string, unknown>,
  ): Promise<{ url: string; adminUrl: string; pid: number; stop(): Promise<void>; log(): string }>;
};

/**
 * Starts Node-RED (devDependency, or the one in SIP_LOCATE_NODE_RED_DIR) with these flows and environment.
 * With `userDir` the directory is kept on stop (for restarts) and `flows` may be undefined to keep the deployed ones;
 * `port` starts it again where a stopped one listened.
 */
export async function startNodeRedProcess(
  flows: unknown[] | undefined,
  env: Record<string, string>,
  opts: { userDir?: string; nodeArgs?: string[]; port?: number } = {},
): Promise<NodeRedProcess> {
  const demo = (await import('../../demo/node-red.mjs')) as DemoModule;
  const userDir = opts.userDir ?? mkdtempSync(join(tmpdir(), 'sip-locate-nr-'));
  const port = opts.port ?? (await freePort());
  const red = await demo.startNodeRed({
    userDir,
    port,
    flows,
    env: { SIP_LOCATE_LOG_LEVEL: 'warn', ...env },
    quiet: true,
    nodeRedPath: process.env.SIP_LOCATE_NODE_RED_DIR,
    nodeArgs: opts.nodeArgs ?? [],
  });
  const debug: DebugMessage[] = [];
  const waiters: Array<{ id: string; resolve: (m: DebugMessage) => void }> = [];
  const consumed = new Map<string, number>();
  const ws = new WebSocket(red.adminUrl.replace('http', 'ws') + '/comms');
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ subscribe: 'debug' }));
  ws.send(JSON.stringify({ subscribe: 'status/#' }));
  const statuses: NodeRedProcess['statuses'] = [];
  const deliver = (): void => {
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i]!;
      const seen = consumed.get(w.id) ?? 0;
      const mine = debug.filter((d) => d.id === w.id);
      if (mine.length > seen) {
        consumed.set(w.id, seen + 1);
        waiters.splice(i--, 1);
        w.resolve(mine[seen]!);
      }
    }
  };
  ws.on('message', (data: Buffer) => {
    let frames: Array<{ topic: string; data: { id: string; name?: string; msg: string; format?: string } }>;
    try {
      const parsed: unknown = JSON.parse(data.toString());
      frames = (Array.isArray(parsed) ? parsed : [parsed]) as typeof frames;
    } catch {
      return;
    }
    for (const f of frames) {
      if (typeof f.topic === 'string' && f.topic.startsWith('status/') && f.data) {
        const st = f.data as unknown as { fill?: string; shape?: string; text?: string };
        statuses.push({ id: f.topic.slice('status/'.length), fill: st.fill, shape: st.shape, text: st.text });
        continue;
      }
      if (f.topic !== 'debug' || !f.data) continue;
      let msg: unknown = f.data.msg;
      try {
        msg = JSON.parse(f.data.msg);
      } catch {
        // a plain string
      }
      debug.push({ id: f.data.id, name: f.data.name, msg });
    }
    deliver();
  });
  return {
    url: red.url,
    adminUrl: red.adminUrl,
    pid: red.pid,
    debug,
    statuses,
    log: () => red.log(),
    waitDebug(id: string, ms = 15000): Promise<DebugMessage> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`no debug message from ${id} within ${ms} ms; seen: ${JSON.stringify(debug).slice(0, 1500)}`),
            ),
          ms,
        );
        waiters.push({
          id,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
        deliver();
      });
    },
    async inject(id: string): Promise<void> {
      const res = await fetch(`${red.adminUrl}/inject/${id}`, { method: 'POST' });
      if (res.status !== 200) throw new Error(`inject ${id}: HTTP ${res.status}`);
    },
    async deploy(newFlows: unknown[]): Promise<void> {
      const res = await fetch(`${red.adminUrl}/flows`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
        body: JSON.stringify(newFlows),
      });
      if (res.status !== 200 && res.status !== 204) throw new Error(`deploy: HTTP ${res.status} ${await res.text()}`);
    },
    async stop(): Promise<void> {
      ws.close();
      await red.stop();
      if (!opts.userDir) rmSync(userDir, { recursive: true, force: true });
    },
  };
}
