/** Runs the built sip-locate command (dist/cli.js) as a child process. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Path of the built command. */
export const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

/** Runs the command with args; exit code, stdout and stderr. */
export function run(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
