// A throwaway redis-server for the demo (example 05): loopback only, nothing persisted, stopped by its PID.
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';

function ping(port) {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
    s.on('error', () => done(false));
  });
}

/** Whether redis-server is on the PATH. */
export function redisInstalled() {
  return spawnSync('sh', ['-c', 'command -v redis-server']).status === 0;
}

/** Starts redis-server on 127.0.0.1:port when it is installed; resolves {url, stop()} or {url, missing: true}. */
export async function startDemoRedis(port) {
  const url = `redis://127.0.0.1:${port}/0`;
  if (!redisInstalled()) return { url, missing: true, stop: async () => {} };
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    { stdio: 'ignore' },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) return { url, missing: true, stop };
    if (await ping(port)) return { url, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  return { url, missing: true, stop: async () => {} };
}
