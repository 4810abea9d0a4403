// The demo launcher as a user runs it: `npm start` (the package's real start script) in a copy of the package whose
// build step is already done, on free ports. A taken port ends it with a sentence and exit code 1; SIGINT and
// SIGTERM sent to the npm process (not to the process group) stop every child within 5 s and free every port.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../servers/ports';
import { waitExit } from '../servers/process';
import { until } from '../support/wait';

const root = join(__dirname, '..', '..');
const built = existsSync(join(root, 'dist', 'nodes', 'sip-locate.js'));
const SIP_SPAN = 4;

interface Ports {
  PORT: number;
  DEMO_DNS_PORT: number;
  DEMO_SIP_PORT: number;
  DEMO_REDIS_PORT: number;
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function allFree(ports: number[]): Promise<boolean> {
  for (const p of ports) if (!(await tcpFree(p)) || !(await udpFree(p))) return false;
  return true;
}

/** Free ports for one launcher run; the SIP endpoints need SIP_SPAN consecutive ones. */
async function freePorts(): Promise<Ports> {
  for (let i = 0; i < 50; i++) {
    const sip = await freePort();
    if (sip + SIP_SPAN > 65535 || !(await allFree([...Array(SIP_SPAN).keys()].map((k) => sip + k)))) continue;
    const others = new Set<number>();
    while (others.size < 3) {
      const p = await freePort();
      if (p < sip || p >= sip + SIP_SPAN) others.add(p);
    }
    const [PORT, DEMO_DNS_PORT, DEMO_REDIS_PORT] = [...others] as [number, number, number];
    return { PORT, DEMO_DNS_PORT, DEMO_SIP_PORT: sip, DEMO_REDIS_PORT };
  }
  throw new Error('no run of free loopback ports found');
}

function portList(p: Ports): number[] {
  return [p.PORT, p.DEMO_DNS_PORT, p.DEMO_REDIS_PORT, ...[...Array(SIP_SPAN).keys()].map((k) => p.DEMO_SIP_PORT + k)];
}

/** Every process below pid right now (ps works on Linux and macOS). */
function descendants(pid: number): number[] {
  const out = spawnSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' }).stdout;
  const children = new Map<number, number[]>();
  for (const line of out.split('\n')) {
    const [c, p] = line.trim().split(/\s+/).map(Number);
    if (!c || !p) continue;
    children.set(p, [...(children.get(p) ?? []), c]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      found.push(c);
      queue.push(c);
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `npm start` in dir with these ports; collects stdout/stderr and every descendant PID seen while it runs. */
function npmStart(
  dir: string,
  ports: Ports,
): { child: ChildProcess; out: () => string; seen: Set<number>; exited: Promise<void> } {
  const env: NodeJS.ProcessEnv = { ...process.env, SIP_LOCATE_LOG_LEVEL: 'warn' };
  for (const [k, v] of Object.entries(ports)) env[k] = String(v);
  const child = spawn('npm', ['start'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const seen = new Set<number>();
  const watch = setInterval(() => {
    if (child.pid) for (const p of descendants(child.pid)) seen.add(p);
  }, 50);
  const exited = waitExit(child).then(() => clearInterval(watch));
  return { child, out: () => out, seen, exited };
}

test("the port check (before the build) knows the lab's endpoints in port order, and its default SIP and DNS ports", async () => {
  const ports = await import('../../demo/ports.mjs');
  const lab = await import('../../src/lab');
  assert.deepEqual(
    ports.DEMO_SIP_NAMES,
    lab.LAB_ENDPOINTS.map(([name]) => name),
  );
  const p = ports.demoPorts({});
  assert.deepEqual([p.sipPort, p.dnsPort], [lab.LAB_SIP_PORT, lab.LAB_DNS_PORT]);
});

describe('the demo launcher (npm start)', { skip: built ? false : 'run npm run build first' }, () => {
  let dir: string;
  before(() => {
    // A copy of the package with dist/ already built, so that the test never rewrites the dist/ other tests load.
    dir = mkdtempSync(join(tmpdir(), 'sip-locate-demo-'));
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(
      pkg.scripts.start!,
      /^node demo\/check-ports\.mjs && npm run build && exec node demo\/start\.mjs$/,
      'ports checked first; the start script execs the launcher, so that npm signals it directly',
    );
    // The build only leaves a mark: a taken port must be reported before it runs.
    pkg.scripts.build = `node -e "require('fs').writeFileSync('built', '')"`;
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
    for (const d of ['dist', 'demo', 'examples']) cpSync(join(root, d), join(dir, d), { recursive: true });
    symlinkSync(realpathSync(join(root, 'node_modules')), join(dir, 'node_modules'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const clash of ['PORT', 'DEMO_SIP_PORT'] as const) {
    test(`a taken ${clash} ends npm start before the build with a sentence and exit code 1, and leaves no child`, async () => {
      const ports = await freePorts();
      const blocked = clash === 'PORT' ? ports.PORT : ports.DEMO_SIP_PORT + 2;
      let release: () => Promise<void>;
      if (clash === 'PORT') {
        // Another web server answering on the port, as another Node-RED would.
        const srv: Server = createServer((s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
        await new Promise<void>((r) => srv.listen(blocked, '127.0.0.1', () => r()));
        release = () => new Promise<void>((r) => srv.close(() => r()));
      } else {
        const udp: Socket = createSocket('udp4');
        await new Promise<void>((r) => udp.bind(blocked, '127.0.0.1', () => r()));
        release = () => new Promise<void>((r) => udp.close(() => r()));
      }
      try {
        rmSync(join(dir, 'built'), { force: true });
        const run = npmStart(dir, ports);
        await run.exited;
        assert.equal(run.child.exitCode, 1, run.out());
        assert.equal(existsSync(join(dir, 'built')), false, 'the port is checked before the build');
        const proto = clash === 'PORT' ? 'TCP' : 'UDP';
        const what = clash === 'PORT' ? 'Node-RED editor' : 'demo SIP endpoint "busy"';
        assert.ok(
          run.out().includes(`port ${blocked} (${proto}) on 127.0.0.1 is already in use, so the ${what} cannot start.`),
          run.out(),
        );
        assert.doesNotMatch(run.out(), /EADDRINUSE|\n\s+at /, 'a sentence, not a stack');
        assert.deepEqual([...run.seen].filter(alive), [], 'no child left');
        assert.ok(await allFree(portList(ports).filter((p) => p !== blocked)), 'no port held');
      } finally {
        await release();
      }
    });
  }

  test('another web server answering on the port is not taken for the Node-RED the launcher started (per-run token)', async () => {
    // What happened before: another Node-RED answered the readiness check while ours had exited with "port in use".
    let asked = 0;
    const other = createHttpServer((_req, res) => {
      asked++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const port = await freePort();
    await new Promise<void>((r) => other.listen(port, '127.0.0.1', () => r()));
    const userDir = mkdtempSync(join(tmpdir(), 'sip-locate-own-'));
    try {
      const nr = await import('../../demo/node-red.mjs');
      await assert.rejects(
        nr.startNodeRed({ userDir, port, quiet: true, env: { SIP_LOCATE_LOG_LEVEL: 'warn' } }),
        /Node-RED exited|another server answers/,
      );
      assert.ok(asked > 0, 'the other server was asked and not believed');
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
      rmSync(userDir, { recursive: true, force: true });
    }
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} to the npm start process stops every child and frees every port`, async () => {
      const ports = await freePorts();
      const run = npmStart(dir, ports);
      try {
        await until(() => run.out().includes('sip-locate demo is running') || run.child.exitCode !== null, {
          what: 'the demo says it is running',
          ms: 90_000,
        });
        assert.equal(run.child.exitCode, null, run.out());
        const examples = readdirSync(join(root, 'examples'))
          .filter((f) => f.endsWith('.json'))
          .map((f) => f.slice(0, 2));
        for (const n of examples)
          assert.match(run.out(), new RegExp(`^ {4}${n} \\S`, 'm'), `the banner tells how to see example ${n} work`);
        assert.ok(
          run.out().includes(`curl 'http://127.0.0.1:${ports.PORT}/route?uri=sip:pbx.demo.test'`),
          'a curl line for 06',
        );
        assert.match(run.out(), /type h and Enter here to stop the healthy server/, 'how to cause a page in 08');
        assert.doesNotMatch(run.out(), /demo DNS"/, 'no config node to double-click that is not on the canvas');
        const res = await fetch(`http://127.0.0.1:${ports.PORT}/settings`);
        assert.equal(res.status, 200);
        assert.ok(res.headers.get('x-sip-locate-run'), 'the Node-RED answering carries the launcher run token');
        const children = descendants(run.child.pid!);
        assert.ok(children.length >= 2, `the launcher and Node-RED run below npm: ${children.join(' ')}`);
        run.child.kill(signal);
        await until(() => children.every((p) => !alive(p)), 'every child has exited');
        await run.exited;
        assert.deepEqual([...run.seen].filter(alive), [], 'no child left');
        assert.ok(await allFree(portList(ports)), 'every port is free again');
      } finally {
        if (run.child.exitCode === null) run.child.kill('SIGKILL');
        for (const p of run.seen) if (alive(p)) process.kill(p, 'SIGKILL');
      }
    });
  }
});
