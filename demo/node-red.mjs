// Starts the devDependency Node-RED (the node-red command) as a child process on loopback with this
// package loaded through nodesDir; used by the demo and by the tests that need a real Node-RED.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The example flows, concatenated, each on its own tab; a config node several examples share (same id) appears once. */
export async function exampleFlows() {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = join(here, '..', 'examples');
  const nodes = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  const seen = new Set();
  return nodes.filter((n) => !seen.has(n.id) && seen.add(n.id));
}

/**
 * Starts Node-RED with userDir (flows written there first when given) and extra node options; resolves {url, adminUrl,
 * pid, stop()} once this Node-RED (recognised by a per-run token, see settings.js) answers. adminUrl is url unless
 * env.SIP_LOCATE_HTTP_ADMIN_ROOT puts the editor under its own path. Aborting `signal` stops it and rejects.
 */
export async function startNodeRed({
  userDir,
  port,
  flows,
  env = {},
  quiet = false,
  nodeRedPath,
  nodeArgs = [],
  signal,
}) {
  mkdirSync(userDir, { recursive: true });
  if (flows) writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flows, null, 2));
  const token = randomUUID();
  const red = nodeRedPath ? join(nodeRedPath, 'red.js') : require.resolve('node-red/red.js');
  const child = spawn(
    process.execPath,
    [...nodeArgs, red, '--settings', join(here, 'settings.js'), '--userDir', userDir],
    {
      env: { ...process.env, PORT: String(port), ...env, SIP_LOCATE_RUN_TOKEN: token },
      stdio: ['ignore', quiet ? 'pipe' : 'inherit', quiet ? 'pipe' : 'inherit'],
    },
  );
  let log = '';
  child.stdout?.on('data', (d) => (log = (log + d).slice(-20000)));
  child.stderr?.on('data', (d) => (log = (log + d).slice(-20000)));
  const url = `http://127.0.0.1:${port}`;
  const adminUrl = url + (env.SIP_LOCATE_HTTP_ADMIN_ROOT ?? '').replace(/\/$/, '');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
    if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    clearTimeout(killer);
  };
  const deadline = Date.now() + 60000;
  let foreign = false;
  while (Date.now() < deadline) {
    if (signal?.aborted) {
      await stop();
      throw new Error('Node-RED start aborted');
    }
    if (child.exitCode !== null) throw new Error(`Node-RED exited with ${child.exitCode}: ${log.slice(-3000)}`);
    try {
      const res = await fetch(`${adminUrl}/settings`, { signal: AbortSignal.timeout(1000) });
      if (res.headers.get('x-sip-locate-run') === token) return { url, adminUrl, pid: child.pid, stop, log: () => log };
      foreign = true;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(
    foreign
      ? `another server answers on ${url}, not the Node-RED started here: ${log.slice(-3000)}`
      : `Node-RED did not answer on ${url} within 60 s: ${log.slice(-3000)}`,
  );
}

export { writeFileSync };
