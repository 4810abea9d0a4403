// The package as a palette user gets it: `npm pack` (with its prepack build) in a copy of the project, the
// tarball installed with --omit=dev into a fresh Node-RED user directory (offline: the production dependencies
// are packed from node_modules), Node-RED started on it with no SIP_LOCATE_NAMESERVERS or SIP_LOCATE_REDIS_URL,
// every node type loaded, every example deployed with no red status (statuses through the comms socket), then
// `npx sip-locate lab` from the user directory and each example's debug output; in German too.
// Also the offline scorecard items that concern the tarball itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortBlock } from '../servers/ports';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { stopChild } from '../servers/process';
import { until } from '../support/wait';
import { withLabPort } from '../../src/lab';

const root = join(__dirname, '..', '..');
const NAME = 'node-red-contrib-sip-locate';
// Not part of what npm packs, or rebuilt by prepack.
const NOT_COPIED = new Set(['node_modules', 'dist', 'test', 'test-results', '.git', '.tmp', '.demo-data']);

interface Pkg {
  name: string;
  version: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  'node-red': { nodes: Record<string, string>; plugins?: Record<string, string> };
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The production dependency closure of pkg, read from the project's node_modules: [name, directory]. */
function dependencyClosure(deps: Record<string, string>): Array<[string, string]> {
  const out = new Map<string, string>();
  const queue = Object.keys(deps);
  while (queue.length) {
    const name = queue.shift()!;
    if (out.has(name)) continue;
    const dir = join(root, 'node_modules', name);
    out.set(name, dir);
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    queue.push(...Object.keys(p.dependencies ?? {}));
  }
  return [...out];
}

type FlowNode = { id: string; type: string; z?: string; x?: number; y?: number; wires?: string[][] };
/** The variables the examples read: a palette user has neither. */
const EXAMPLE_VARIABLES = ['SIP_LOCATE_NAMESERVERS', 'SIP_LOCATE_REDIS_URL'];
/** Each example's "SIP servers" debug node (its status says what to start); 01 locates from static records alone. */
const HINT: Record<string, string> = {
  '02': 'a2c00000000000f3',
  '03': 'a3c00000000000f3',
  '04': 'a5c00000000000f3',
  '05': 'a7c00000000000f3',
  '07': 'e7c00000000000f3',
  '08': 'a8c00000000000f3',
};

/** The flow with a test-only inject (at deploy) and debug pair: its message comes after every status set while the flow started. */
function withSync(flow: FlowNode[]): FlowNode[] {
  const z = flow.find((n) => n.type === 'tab')?.id;
  return [
    ...flow,
    {
      id: 'sync-inject',
      type: 'inject',
      z,
      props: [{ p: 'payload' }],
      payload: 'deployed',
      payloadType: 'str',
      once: true,
      onceDelay: 0.1,
      repeat: '',
      x: 100,
      y: 900,
      wires: [['sync-debug']],
    } as FlowNode,
    {
      id: 'sync-debug',
      type: 'debug',
      z,
      active: true,
      tosidebar: true,
      console: false,
      tostatus: false,
      complete: 'payload',
      targetType: 'msg',
      x: 300,
      y: 900,
      wires: [],
    } as FlowNode,
  ];
}

describe('npm pack, installed into a fresh Node-RED user directory', () => {
  let tmp: string;
  let tarball: string;
  let files: string[];
  let packed: Pkg;
  let installOut: string;
  let userDir: string;
  let red: NodeRedProcess | undefined;
  let lab: { child: ReturnType<typeof spawn>; out: () => string } | undefined;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sip-locate-pack-'));
    // A copy of the project, so that prepack's clean build never touches the dist/ other tests load.
    const copy = join(tmp, 'project');
    mkdirSync(copy);
    for (const entry of readdirSync(root))
      if (!NOT_COPIED.has(entry)) cpSync(join(root, entry), join(copy, entry), { recursive: true });
    symlinkSync(realpathSync(join(root, 'node_modules')), join(copy, 'node_modules'));
    const pack = await run('npm', ['pack', '--json', '--pack-destination', tmp], copy);
    assert.equal(pack.code, 0, pack.out);
    const report = JSON.parse(pack.out.slice(pack.out.indexOf('[\n'))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = join(tmp, report[0]!.filename);
    files = report[0]!.files.map((f) => f.path);
    const unpacked = join(tmp, 'unpacked');
    mkdirSync(unpacked);
    assert.equal((await run('tar', ['-xzf', tarball, '-C', unpacked], tmp)).code, 0);
    packed = JSON.parse(readFileSync(join(unpacked, 'package', 'package.json'), 'utf8')) as Pkg;

    // The production dependencies as tarballs too, so that the install needs no registry.
    const deps = join(tmp, 'deps');
    mkdirSync(deps);
    // Made with tar, as the registry's tarballs are (a package/ folder): `npm pack <dir>` runs a dependency's
    // prepare script (prom-client's calls husky, a dev tool it does not ship) even with --ignore-scripts.
    for (const [name, dir] of dependencyClosure(packed.dependencies ?? {})) {
      const file = join(deps, `${name.replace('@', '').replace('/', '-')}.tgz`);
      const r = await run(
        'tar',
        ['-czf', file, '--exclude=./node_modules', '--transform', 's,^\\.,package,', '-C', dir, '.'],
        tmp,
      );
      assert.equal(r.code, 0, r.out);
    }
    userDir = join(tmp, 'user');
    mkdirSync(userDir);
    writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-user', private: true }));
    const depTarballs = readdirSync(deps).map((f) => join(deps, f));
    const install = await run(
      'npm',
      ['install', '--omit=dev', '--offline', '--legacy-peer-deps', '--no-audit', '--no-fund', tarball, ...depTarballs],
      userDir,
    );
    installOut = install.out;
    assert.equal(install.code, 0, install.out);

    for (const v of EXAMPLE_VARIABLES) delete process.env[v];
    red = await startNodeRedProcess(
      undefined,
      { SIP_LOCATE_FROM_USERDIR: '1', SIP_LOCATE_LOG_LEVEL: 'info', LC_ALL: 'en_US.UTF-8' },
      { userDir },
    );
  });
  after(async () => {
    await red?.stop();
    if (lab) {
      // npx runs the lab as its own child: signal the whole process group (led by npx's PID) so none keeps the pipes open.
      try {
        if (lab.child.pid !== undefined) process.kill(-lab.child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await stopChild(lab.child, 5000);
      lab.child.stdout?.destroy();
      lab.child.stderr?.destroy();
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball: no source maps, no install scripts, each node with its editor file and catalogs, the examples', () => {
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
      'no source maps (they would point at src/, which is not shipped)',
    );
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'neither src/ nor test/');
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare'])
      assert.equal(packed.scripts?.[s], undefined, `no ${s} script runs on a user's install`);
    for (const [type, js] of Object.entries(packed['node-red'].nodes)) {
      assert.ok(files.includes(js), js);
      assert.ok(files.includes(js.replace(/\.js$/, '.html')), `${type}.html`);
      for (const lang of ['en-US', 'de'])
        for (const ext of ['json', 'html'])
          assert.ok(files.includes(`dist/nodes/locales/${lang}/${type}.${ext}`), `${lang}/${type}.${ext}`);
    }
    const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.json'));
    assert.ok(examples.length >= 5);
    for (const e of examples) assert.ok(files.includes(`examples/${e}`), e);
    assert.ok(
      files.includes('examples/sipp-uas-options-200.xml'),
      'the sipp scenario that answers OPTIONS (sipp -sn uas does not)',
    );
    assert.ok(files.includes('LICENSE') && files.includes('README.md'));
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)].map((m) => m[1]!);
    for (const src of images)
      assert.match(src, /^https:\/\//, `README image ${src} renders on npm and in the flow library`);
  });

  test('npm install --omit=dev: only production dependencies, no install-script warning for the package', () => {
    assert.doesNotMatch(
      installOut,
      new RegExp(`${NAME}@[^ ]+ \\((prepare|preinstall|install|postinstall)`),
      installOut,
    );
    const installed = readdirSync(join(userDir, 'node_modules')).flatMap((d) =>
      d.startsWith('@') ? readdirSync(join(userDir, 'node_modules', d)).map((s) => `${d}/${s}`) : [d],
    );
    const expected = dependencyClosure(packed.dependencies ?? {}).map(([n]) => n);
    assert.deepEqual(installed.filter((d) => !d.startsWith('.')).sort(), [NAME, ...expected].sort());
  });

  test('npx sip-locate runs the command from the user directory (how the README says it gets on the PATH)', async () => {
    const r = await run('npx', ['--offline', '--no-install', 'sip-locate', '--help'], userDir);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^Usage: sip-locate \[options\] URI/m);
  });

  test('Node-RED loads every node type of the installed package with no error', async () => {
    const res = await fetch(`${red!.url}/nodes`, { headers: { accept: 'application/json' } });
    const sets = (
      (await res.json()) as Array<{ module: string; types: string[]; enabled: boolean; err?: string }>
    ).filter((s) => s.module === NAME);
    assert.deepEqual(sets.flatMap((s) => s.types).sort(), Object.keys(packed['node-red'].nodes).sort());
    for (const s of sets) assert.deepEqual([s.enabled, s.err], [true, undefined], JSON.stringify(s));
    if (packed['node-red'].plugins) {
      const plugins = (await (
        await fetch(`${red!.url}/plugins`, { headers: { accept: 'application/json' } })
      ).json()) as Array<{ module: string; plugins: unknown[]; err?: string }>;
      const mine = plugins.filter((p) => p.module === NAME);
      assert.equal(mine.length, Object.keys(packed['node-red'].plugins).length, JSON.stringify(plugins));
      for (const p of mine) assert.equal(p.err, undefined);
    }
    assert.doesNotMatch(red!.log(), /\[error\]/);
  });

  /** The shipped examples, as the editor's import menu lists and serves them. */
  async function shippedExamples(): Promise<Array<{ name: string; flow: FlowNode[] }>> {
    const listing = (await (await fetch(`${red!.url}/library/examples/flows/${NAME}`)).json()) as Array<
      { fn: string } | string
    >;
    assert.ok(Array.isArray(listing), JSON.stringify(listing));
    const names = listing.map((e) => (typeof e === 'string' ? e : e.fn)).sort();
    const out = [];
    for (const name of names)
      out.push({
        name,
        flow: (await (
          await fetch(`${red!.url}/library/examples/flows/${NAME}/${encodeURIComponent(name)}`)
        ).json()) as FlowNode[],
      });
    return out;
  }

  /** Deploys flow alone; resolves once its test-only sync message arrived, with every status its nodes showed meanwhile. */
  async function deploy(flow: FlowNode[]): Promise<NodeRedProcess['statuses']> {
    const from = red!.statuses.length;
    const synced = red!.waitDebug('sync-debug', 30_000);
    await red!.deploy(withSync(flow));
    await synced;
    const ids = new Set(flow.map((n) => n.id));
    return red!.statuses.slice(from).filter((s) => ids.has(s.id));
  }

  test('every example is listed by the editor import menu and deploys with no SIP_LOCATE_* variable and no red status', async () => {
    const examples = await shippedExamples();
    const shipped = readdirSync(join(userDir, 'node_modules', NAME, 'examples'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''))
      .sort();
    assert.deepEqual(
      examples.map((e) => e.name),
      shipped,
    );
    for (const { name, flow } of examples) {
      assert.ok(Array.isArray(flow) && flow.length > 3, name);
      const statuses = await deploy(flow);
      const state = (await (
        await fetch(`${red!.url}/flows`, { headers: { 'node-red-api-version': 'v2' } })
      ).json()) as { flows: Array<{ id: string }> };
      assert.deepEqual(
        state.flows.map((n) => n.id).sort(),
        withSync(flow)
          .map((n) => n.id)
          .sort(),
        name,
      );
      assert.deepEqual(
        statuses.filter((s) => s.fill === 'red'),
        [],
        `${name}: no red status`,
      );
      const hint = HINT[name.slice(0, 2)];
      if (hint) {
        await until(() => red!.statuses.some((s) => s.id === hint), `${name}: the "SIP servers" status`);
        assert.deepEqual(
          { ...red!.statuses.filter((s) => s.id === hint).at(-1) },
          { id: hint, fill: 'grey', shape: 'ring', text: 'start: npx sip-locate lab' },
          name,
        );
      }
      if (name.startsWith('05'))
        assert.deepEqual(
          statuses.find((s) => s.id === 'a7c0000000000006'),
          { id: 'a7c0000000000006', fill: 'yellow', shape: 'ring', text: 'redis store down: memory only' },
          'the Redis URL is unset: memory, store down',
        );
      assert.doesNotMatch(red!.log(), /\[error\]|missing types/i, name);
    }
    assert.match(
      red!.log(),
      /\[warn\] \[sip-resolver:demo\.test\] The setting nameservers names the environment variable SIP_LOCATE_NAMESERVERS, which is not set/,
    );
    assert.match(
      red!.log(),
      /The setting redisUrl names the environment variable SIP_LOCATE_REDIS_URL, which is not set/,
    );
  });

  test('after `npx sip-locate lab` in the user directory every example shows what its comment promises', async () => {
    const sipPort = await freePortBlock(4);
    const child = spawn(
      'npx',
      ['--offline', '--no-install', 'sip-locate', 'lab', '--sip-port', String(sipPort), '--dns-port', '0'],
      {
        cwd: userDir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, npm_config_update_notifier: 'false' },
        detached: true,
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    lab = { child, out: () => out };
    await until(() => out.includes('sip-locate lab is running') || child.exitCode !== null, {
      what: 'the lab to start',
      ms: 30_000,
    });
    assert.match(out, new RegExp(`healthy {3}127\\.0\\.0\\.1:${sipPort} `), out);
    const port = (k: number): number => sipPort + k;
    const examples = new Map((await shippedExamples()).map((e) => [e.name.slice(0, 2), withLabPort(e.flow, sipPort)]));
    const run = async (n: string, inject: string, debug: string): Promise<Record<string, unknown>> => {
      await deploy(examples.get(n)!);
      const got = red!.waitDebug(debug, 20_000);
      await red!.inject(inject);
      return (await got).msg as Record<string, unknown>;
    };
    const target = (m: Record<string, unknown>): number => (m.target as { port: number }).port;

    const located = await run('01', 'a1c0000000000003', 'a1c0000000000006');
    assert.deepEqual((located.targets as Array<{ port: number }>).map((t) => t.port).sort(), [
      port(0),
      port(2),
      port(3),
    ]);
    const error = red!.waitDebug('a1c0000000000007');
    await red!.inject('a1c0000000000004');
    assert.equal(((await error).msg as { code: string }).code, 'ENOTRANSPORT');

    const failover = await run('02', 'a2c0000000000003', 'a2c0000000000006');
    assert.deepEqual([target(failover), failover.attempt], [port(0), 3]);
    await until(
      () => red!.statuses.filter((s) => s.id === 'a2c00000000000f3').at(-1)?.fill === 'green',
      '02: the "SIP servers" node turns green',
    );

    const sticky = await run('03', 'a3c0000000000003', 'a3c0000000000008');
    assert.equal(sticky.sticky, true);
    assert.ok([port(0), port(1)].includes(target(sticky)));

    const dial = await run('04', 'a5c0000000000003', 'a5c0000000000007');
    assert.equal(dial.asterisk, `PJSIP/alice@127.0.0.1:${port(0)}`);

    const pinned = await run('05', 'a7c0000000000003', 'a7c0000000000008');
    assert.ok([port(0), port(1)].includes(pinned.port as number), JSON.stringify(pinned));

    const enumCall = await run('07', 'e7c0000000000003', 'e7c0000000000007');
    assert.deepEqual(
      [target(enumCall), enumCall.attempt, (enumCall.enum as { uri: string }).uri],
      [port(0), 3, 'sip:12025550101@pbx.demo.test'],
    );

    await deploy(examples.get('08')!);
    await until(
      () =>
        red!.debug.some(
          (d) =>
            d.id === 'a8c0000000000011' &&
            (d.msg as { op: string; target?: { port: number } }).op === 'up' &&
            (d.msg as { target: { port: number } }).target.port === port(0),
        ),
      { what: '08: the healthy server is up', ms: 60_000 },
    );
    assert.equal(red!.debug.filter((d) => d.id === 'a8c0000000000013').length, 0, '08: nothing pages at start');
  });

  test('in German (LC_ALL=de) the runtime log and status texts come from the de catalog', async () => {
    // A second user directory with the same installed package, so that the two Node-REDs keep their own files.
    const deDir = join(tmp, 'user-de');
    mkdirSync(deDir);
    cpSync(join(userDir, 'package.json'), join(deDir, 'package.json'));
    symlinkSync(join(userDir, 'node_modules'), join(deDir, 'node_modules'));
    const de = await startNodeRedProcess(
      undefined,
      { SIP_LOCATE_FROM_USERDIR: '1', SIP_LOCATE_LOG_LEVEL: 'info', LC_ALL: 'de_DE.UTF-8' },
      { userDir: deDir },
    );
    try {
      const flow = (await (
        await fetch(
          `${de.url}/library/examples/flows/${NAME}/${encodeURIComponent('05 - Sticky servers shared through Redis')}`,
        )
      ).json()) as FlowNode[];
      await de.deploy(flow);
      await until(() => de.statuses.some((s) => s.id === 'a7c0000000000006'), "a status for 05's sip-locate");
      assert.deepEqual(
        { ...de.statuses.find((s) => s.id === 'a7c0000000000006') },
        { id: 'a7c0000000000006', fill: 'yellow', shape: 'ring', text: 'redis-Speicher weg: nur lokal' },
      );
      assert.match(
        de.log(),
        /Die Einstellung redisUrl nennt die Umgebungsvariable SIP_LOCATE_REDIS_URL, die nicht gesetzt ist/,
      );
    } finally {
      await de.stop();
    }
  });
});
