#!/usr/bin/env node
// Runs every test file (test/**/*.test.ts) with node's test runner and tsx.
// Usage: node test/run.mjs [--unit] [substring ...]
//   substring: only files whose path contains one of them
//   --unit:    only the fast lane, files that start no server (see needsServers below)
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const unit = argv.includes('--unit');
const filters = argv.filter((a) => a !== '--unit');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

// What puts a test file out of the fast lane: a harness that starts a server process (BIND, NSD, Knot, Redis, sipp,
// Kamailio, Node-RED, the DNS proxy), the Node-RED test helper (needs dist/), chromium, or a child process of its own.
// In-process fakes (test/servers/fake-dns.ts, ports.ts, the probe responders) are fine.
const SERVER_IMPORTS =
  /from '[./]*\/?(?:servers\/(?:dns-servers|redis|redis-cluster|sipp|sipp-uac|kamailio|kamailio-lab|node-red|proxy)|nodes\/helper|\.\/helper|system\/harness|rfc3263\/fanout-zone|cli\/cli-run|browser\/[\w-]+)'|node-red-node-test-helper|from 'node:child_process'/;

/** True when the test file needs a server or a child process (out of the fast lane). */
function needsServers(file) {
  return SERVER_IMPORTS.test(readFileSync(join(root, file), 'utf8'));
}

let files = walk(join(root, 'test'));
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (unit) files = files.filter((f) => !needsServers(f));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The runner does not force test processes to exit: a file whose finished tests leave something open fails by name (test/setup/exit-watch.mjs).
const watch = pathToFileURL(join(root, 'test/setup/exit-watch.mjs')).href;
const args = ['--import', 'tsx', '--import', watch, '--test', '--test-reporter=spec', '--test-concurrency=2', ...files];
// Every test process, and every Node-RED or CLI process a test starts, keeps its traffic on loopback.
const guard = '--import=' + pathToFileURL(join(root, 'test/setup/loopback-guard.mjs')).href;
const env = { ...process.env, NODE_OPTIONS: [process.env.NODE_OPTIONS, guard].filter(Boolean).join(' ') };
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
process.exit(r.status ?? 1);
