// node-red-dev's own scorecard checks (the flow library's), run offline on this project through
// node-red-dev-run.cjs: every check that needs no catalogue passes; the one warning left is P04 (an unscoped name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const built = existsSync(join(root, 'dist', 'nodes', 'sip-locate.html'));

test(
  'node-red-dev validate, offline: P01 P03 P04 P05 P06 P07 N01 N02 pass against the pinned catalogue and registry answers',
  { skip: built ? false : 'run npm run build first' },
  () => {
    const r = spawnSync(process.execPath, [join(__dirname, 'node-red-dev-run.cjs'), root], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { scorecard, warnings } = JSON.parse(r.stdout) as {
      scorecard: Record<string, { test: boolean; nodes?: string[]; versions?: string[] }>;
      warnings: string[];
    };
    for (const code of ['P01', 'P03', 'P04', 'P05', 'P06', 'P07', 'N01', 'N02'])
      assert.equal(scorecard[code]?.test, true, `${code}: ${JSON.stringify(scorecard[code])}`);
    assert.deepEqual(scorecard.P06!.versions, ['5.0.7', '4.1.15'], 'Node-RED 5 and the 4.x maintenance line');
    assert.deepEqual(scorecard.N02!.nodes!.sort(), ['sip-events', 'sip-locate', 'sip-options', 'sip-target-failed']);
    assert.deepEqual(warnings, ['P04 New Packages should use a scoped name']);
  },
);

test('D03 (what the scorecard found stale): ws is declared and installed as 8.x', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  assert.match(pkg.dependencies.ws!, /^\^8\./);
  const installed = JSON.parse(readFileSync(join(root, 'node_modules', 'ws', 'package.json'), 'utf8')) as {
    version: string;
  };
  assert.match(installed.version, /^8\./);
});
