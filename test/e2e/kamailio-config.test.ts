// docs/proxies.md shows exactly the kamailio.cfg the end-to-end test runs, and Kamailio accepts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnlessKamailio } from '../servers/kamailio';

const root = join(__dirname, '..', '..');
const cfgPath = join(root, 'test', 'kamailio', 'kamailio.cfg');

test('the Kamailio fragment in docs/proxies.md is the tested test/kamailio/kamailio.cfg', () => {
  const doc = readFileSync(join(root, 'docs', 'proxies.md'), 'utf8');
  const block = /```kamailio\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/proxies.md has a ```kamailio block');
  assert.equal(block[1], readFileSync(cfgPath, 'utf8'));
});

test('Kamailio accepts the configuration (kamailio -c)', { skip: skipUnlessKamailio() }, () => {
  const r = spawnSync('/usr/sbin/kamailio', ['-c', '-f', cfgPath, '-L', '/usr/lib/x86_64-linux-gnu/kamailio/modules'], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  assert.match(r.stderr + r.stdout, /config file ok/);
});

test('http_client defaults come before the httpcon that copies them: keep_connections 1, authmethod 1 (Basic), a 1 s timeout', () => {
  const cfg = readFileSync(cfgPath, 'utf8');
  const at = (param: string): number => cfg.search(new RegExp(`^modparam\\("http_client", "${param}"`, 'm'));
  const httpcon = at('httpcon');
  assert.ok(httpcon > 0, 'the config defines an httpcon');
  for (const [param, value] of [
    ['keep_connections', '1'],
    ['authmethod', '1'],
    ['connection_timeout', '1'],
  ] as const) {
    assert.ok(at(param) > 0 && at(param) < httpcon, `${param} is set above the httpcon`);
    assert.match(cfg, new RegExp(`^modparam\\("http_client", "${param}", ${value}\\)$`, 'm'));
  }
});

/** The text of one top-level block of the config, e.g. block('failure_route[NEXT]'). */
function block(cfg: string, head: string): string {
  const at = cfg.indexOf(`\n${head} {`);
  assert.ok(at >= 0, `the config has ${head}`);
  const end = cfg.indexOf('\n}\n', at);
  return cfg.slice(at, end);
}

test('timers: fr_timer gives a silent server 2 s; fr_inv_timer lets a call ring 60 s', () => {
  const cfg = readFileSync(cfgPath, 'utf8');
  assert.match(cfg, /^modparam\("tm", "fr_timer", 2000\)$/m);
  assert.match(cfg, /^modparam\("tm", "fr_inv_timer", 60000\)$/m);
});

test('no HTTP request from a SIP receiver or from failure_route: lookups and reports run in async workers', () => {
  const cfg = readFileSync(cfgPath, 'utf8');
  assert.match(cfg, /^async_workers=\d+$/m);
  const request = block(cfg, 'request_route');
  assert.doesNotMatch(request, /http_connect|route\(LOCATE\)/);
  assert.match(request, /async_task_route\("LOCATE_NEW"\)/);
  const failure = block(cfg, 'failure_route[NEXT]');
  assert.doesNotMatch(failure, /http_connect|route\(LOCATE\)/);
  assert.match(failure, /t_suspend\(\)/);
  assert.match(failure, /async_task_data\("REPORT_TASK"/);
  // Only a timeout without any reply, or a 408/5xx the target itself sent, is reported.
  assert.match(failure, /\$T\(reply_type\) == 0 && t_check_status\("408\|5\[0-9\]\[0-9\]"\)/);
});

test('the proxy refuses requests for itself, IP literals and domains outside ROUTE_DOMAINS before any lookup', () => {
  const request = block(readFileSync(cfgPath, 'utf8'), 'request_route');
  const lookup = request.indexOf('async_task_route');
  for (const check of ['uri == myself', '$rd =~ "^[0-9.]+$|:"', '$rd =~ ROUTE_DOMAINS']) {
    const at = request.indexOf(check);
    assert.ok(at > 0 && at < lookup, `${check} comes before the lookup`);
  }
});

test("a second Node-RED through http_client's failover connection, and a static last resort", () => {
  const cfg = readFileSync(cfgPath, 'utf8');
  assert.match(cfg, /^modparam\("http_client", "httpcon", "nodered=>http:\/\/[^"]+;failover=nodered_b"\)$/m);
  assert.match(cfg, /^modparam\("http_client", "httpcon", "nodered_b=>http:\/\/[^"]+"\)$/m);
  assert.match(cfg, /^#!define FALLBACK_DU "sip:[^"]+"$/m);
});
