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
  const r = spawnSync('/usr/sbin/kamailio', ['-c', '-f', cfgPath, '-L', '/usr/lib/x86_64-linux-gnu/kamailio/modules'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr.slice(-2000));
  assert.match(r.stderr + r.stdout, /config file ok/);
});

test('http_client defaults come before the httpcon that copies them: keep_connections 1, authmethod 1 (Basic), a 1 s timeout', () => {
  const cfg = readFileSync(cfgPath, 'utf8');
  const at = (param: string): number => cfg.search(new RegExp(`^modparam\\("http_client", "${param}"`, 'm'));
  const httpcon = at('httpcon');
  assert.ok(httpcon > 0, 'the config defines an httpcon');
  for (const [param, value] of [['keep_connections', '1'], ['authmethod', '1'], ['connection_timeout', '1']] as const) {
    assert.ok(at(param) > 0 && at(param) < httpcon, `${param} is set above the httpcon`);
    assert.match(cfg, new RegExp(`^modparam\\("http_client", "${param}", ${value}\\)$`, 'm'));
  }
});
