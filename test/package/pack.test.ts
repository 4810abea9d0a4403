// The package as a registry user gets it: `npm pack` (with its prepack build) in a copy of the project, the
// tarball installed with --omit=dev into a fresh Node-RED user directory (offline: the production dependencies
// are packed from node_modules), Node-RED started on it, every node type loaded and every example deployed.
// Also the offline scorecard items that concern the tarball itself.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../servers/ports';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';

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
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
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

describe('npm pack, installed into a fresh Node-RED user directory', { skip: skipUnlessRedis() }, () => {
  let tmp: string;
  let tarball: string;
  let files: string[];
  let packed: Pkg;
  let installOut: string;
  let userDir: string;
  let red: { url: string; stop(): Promise<void>; log(): string } | undefined;
  let redis: RunningRedis | undefined;
  let dns: { nameserver: string; stop(): Promise<void> } | undefined;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sip-locate-pack-'));
    // A copy of the project, so that prepack's clean build never touches the dist/ other tests load.
    const copy = join(tmp, 'project');
    mkdirSync(copy);
    for (const entry of readdirSync(root)) if (!NOT_COPIED.has(entry)) cpSync(join(root, entry), join(copy, entry), { recursive: true });
    symlinkSync(realpathSync(join(root, 'node_modules')), join(copy, 'node_modules'));
    const pack = await run('npm', ['pack', '--json', '--pack-destination', tmp], copy);
    assert.equal(pack.code, 0, pack.out);
    const report = JSON.parse(pack.out.slice(pack.out.indexOf('[\n'))) as Array<{ filename: string; files: Array<{ path: string }> }>;
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
      const r = await run('tar', ['-czf', file, '--exclude=./node_modules', '--transform', 's,^\\.,package,', '-C', dir, '.'], tmp);
      assert.equal(r.code, 0, r.out);
    }
    userDir = join(tmp, 'user');
    mkdirSync(userDir);
    writeFileSync(join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-user', private: true }));
    const depTarballs = readdirSync(deps).map((f) => join(deps, f));
    const install = await run('npm', ['install', '--omit=dev', '--offline', '--legacy-peer-deps', '--no-audit', '--no-fund', tarball, ...depTarballs], userDir);
    installOut = install.out;
    assert.equal(install.code, 0, install.out);

    const zone = await import('../../demo/dns-server.mjs');
    dns = await zone.startZoneServer({ address: '127.0.0.1', port: 0, origin: 'demo.test', records: zone.demoZone('demo.test', { healthy: { address: '127.0.0.1', port: 5060 }, healthy2: { address: '127.0.0.1', port: 5061 }, busy: { address: '127.0.0.1', port: 5062 }, silent: { address: '127.0.0.1', port: 5063 } }) });
    redis = await startRedis();
    const nr = await import('../../demo/node-red.mjs');
    red = await nr.startNodeRed({
      userDir,
      port: await freePort(),
      quiet: true,
      nodeRedPath: process.env.SIP_LOCATE_NODE_RED_DIR,
      env: { SIP_LOCATE_FROM_USERDIR: '1', SIP_LOCATE_LOG_LEVEL: 'info', SIP_LOCATE_NAMESERVERS: dns.nameserver, SIP_LOCATE_REDIS_URL: redis.url },
    });
  });
  after(async () => {
    await red?.stop();
    await redis?.stop();
    await dns?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball: no source maps, no install scripts, each node with its editor file and catalogs, the examples', () => {
    assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'no source maps (they would point at src/, which is not shipped)');
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'neither src/ nor test/');
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(packed.scripts?.[s], undefined, `no ${s} script runs on a user's install`);
    for (const [type, js] of Object.entries(packed['node-red'].nodes)) {
      assert.ok(files.includes(js), js);
      assert.ok(files.includes(js.replace(/\.js$/, '.html')), `${type}.html`);
      for (const lang of ['en-US', 'de']) for (const ext of ['json', 'html']) assert.ok(files.includes(`dist/nodes/locales/${lang}/${type}.${ext}`), `${lang}/${type}.${ext}`);
    }
    const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.json'));
    assert.ok(examples.length >= 5);
    for (const e of examples) assert.ok(files.includes(`examples/${e}`), e);
    assert.ok(files.includes('LICENSE') && files.includes('README.md'));
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)].map((m) => m[1]!);
    for (const src of images) assert.match(src, /^https:\/\//, `README image ${src} renders on npm and in the flow library`);
  });

  test('npm install --omit=dev: only production dependencies, no install-script warning for the package', () => {
    assert.doesNotMatch(installOut, new RegExp(`${NAME}@[^ ]+ \\((prepare|preinstall|install|postinstall)`), installOut);
    const installed = readdirSync(join(userDir, 'node_modules')).flatMap((d) => (d.startsWith('@') ? readdirSync(join(userDir, 'node_modules', d)).map((s) => `${d}/${s}`) : [d]));
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
    const sets = ((await res.json()) as Array<{ module: string; types: string[]; enabled: boolean; err?: string }>).filter((s) => s.module === NAME);
    assert.deepEqual(sets.flatMap((s) => s.types).sort(), Object.keys(packed['node-red'].nodes).sort());
    for (const s of sets) assert.deepEqual([s.enabled, s.err], [true, undefined], JSON.stringify(s));
    if (packed['node-red'].plugins) {
      const plugins = (await (await fetch(`${red!.url}/plugins`, { headers: { accept: 'application/json' } })).json()) as Array<{ module: string; plugins: unknown[]; err?: string }>;
      const mine = plugins.filter((p) => p.module === NAME);
      assert.equal(mine.length, Object.keys(packed['node-red'].plugins).length, JSON.stringify(plugins));
      for (const p of mine) assert.equal(p.err, undefined);
    }
    assert.doesNotMatch(red!.log(), /\[error\]/);
  });

  test('every example is listed by the editor import menu and deploys with every node started', async () => {
    const listing = (await (await fetch(`${red!.url}/library/examples/flows/${NAME}`)).json()) as Array<{ fn: string } | string>;
    assert.ok(Array.isArray(listing), JSON.stringify(listing));
    const names = listing.map((e) => (typeof e === 'string' ? e : e.fn)).sort();
    const shipped = readdirSync(join(userDir, 'node_modules', NAME, 'examples')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')).sort();
    assert.deepEqual(names, shipped);
    for (const name of names) {
      const flow = (await (await fetch(`${red!.url}/library/examples/flows/${NAME}/${encodeURIComponent(name)}`)).json()) as Array<{ id: string; type: string }>;
      assert.ok(Array.isArray(flow) && flow.length > 3, name);
      const deploy = await fetch(`${red!.url}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'node-red-deployment-type': 'full' }, body: JSON.stringify(flow) });
      assert.equal(deploy.status, 204, `${name}: ${await deploy.text()}`);
      const state = (await (await fetch(`${red!.url}/flows`, { headers: { 'node-red-api-version': 'v2' } })).json()) as { flows: Array<{ id: string }> };
      assert.deepEqual(state.flows.map((n) => n.id).sort(), flow.map((n) => n.id).sort(), name);
      assert.doesNotMatch(red!.log(), /\[error\]|missing types/i, name);
    }
  });
});
