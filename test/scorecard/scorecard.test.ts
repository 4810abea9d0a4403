// An offline re-check of the Node-RED flow library scorecard items that need no internet, plus i18n coverage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const nodeFiles: Record<string, string> = pkg['node-red'].nodes;

function minVersion(range: string): number[] {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  assert.ok(m, `range "${range}" should be of the form >=X.Y.Z`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}
const lte = (a: number[], b: number[]): boolean =>
  a[0]! < b[0]! || (a[0] === b[0] && (a[1]! < b[1]! || (a[1] === b[1] && a[2]! <= b[2]!)));

/** registerType calls of an editor file: type name and whether it is a config node. */
function definitions(html: string): Array<{ type: string; config: boolean; body: string }> {
  const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const out: Array<{ type: string; config: boolean; body: string }> = [];
  for (const s of scripts) {
    for (const m of s.matchAll(/RED\.nodes\.registerType\(\s*'([a-z0-9-]+)'\s*,\s*\{([\s\S]*?)\n\s*\}\);/g)) {
      out.push({ type: m[1]!, config: /category:\s*'config'/.test(m[2]!), body: m[2]! });
    }
  }
  return out;
}

test('P01/P03/P05: license, repository and the node-red keyword', () => {
  assert.equal(typeof pkg.license, 'string');
  assert.ok(existsSync(join(root, 'LICENSE')), 'LICENSE file');
  assert.ok(pkg.repository || pkg.bugs);
  assert.ok(pkg.keywords.includes('node-red'));
});

test('P06/P07: node-red.version admits Node-RED 4 and 5; engines.node includes 22.9.0 (Node-RED 5 minimum)', () => {
  const nr = minVersion(pkg['node-red'].version);
  assert.ok(lte(nr, [4, 1, 0]) && lte(nr, [5, 0, 7]));
  assert.ok(lte(minVersion(pkg.engines.node), [22, 9, 0]));
});

test('D01: at most 6 dependencies, and node-red is not one of them', () => {
  const deps = Object.keys(pkg.dependencies ?? {});
  assert.ok(deps.length <= 6, deps.join(', '));
  assert.ok(!deps.includes('node-red') && !deps.includes('@node-red/util'));
});

test('N02: every non-config node type is used in an example; examples are arrays of nodes', () => {
  const types = Object.keys(nodeFiles)
    .flatMap((t) => definitions(readFileSync(join(root, 'nodes', `${t}.html`), 'utf8')))
    .filter((d) => !d.config)
    .map((d) => d.type);
  assert.deepEqual(types.sort(), ['sip-events', 'sip-locate', 'sip-options', 'sip-target-failed']);
  const used = new Set<string>();
  for (const f of readdirSync(join(root, 'examples')).filter((x) => x.endsWith('.json'))) {
    const flow = JSON.parse(readFileSync(join(root, 'examples', f), 'utf8'));
    assert.ok(Array.isArray(flow), f);
    for (const n of flow) used.add(n.type);
  }
  for (const t of types) assert.ok(used.has(t), `${t} is in no example`);
});

test('editor files: one literal registerType per node file, inline defaults, icons that exist, help in en-US and de', () => {
  for (const [type, js] of Object.entries(nodeFiles)) {
    assert.equal(js, `dist/nodes/${type}.js`);
    assert.ok(existsSync(join(root, 'src', 'nodes', `${type}.ts`)));
    const defs = definitions(readFileSync(join(root, 'nodes', `${type}.html`), 'utf8'));
    assert.deepEqual(
      defs.map((d) => d.type),
      [type],
    );
    assert.match(defs[0]!.body, /defaults:\s*\{/);
    const icon = /icon:\s*'([^']+)'/.exec(defs[0]!.body)?.[1];
    if (!defs[0]!.config) assert.ok(icon && existsSync(join(root, 'nodes', 'icons', icon)), `${type} icon`);
    for (const lang of ['en-US', 'de']) {
      assert.ok(existsSync(join(root, 'nodes', 'locales', lang, `${type}.json`)), `${lang}/${type}.json`);
      assert.match(
        readFileSync(join(root, 'nodes', 'locales', lang, `${type}.html`), 'utf8'),
        new RegExp(`data-help-name="${type}"`),
      );
    }
  }
});

test('every i18n key the editor uses exists in the en-US and de catalogs', () => {
  for (const type of Object.keys(nodeFiles)) {
    const html = readFileSync(join(root, 'nodes', `${type}.html`), 'utf8');
    const keys = new Set<string>();
    for (const m of html.matchAll(/data-i18n="(?:\[[a-z]+\])?([a-zA-Z0-9.-]+)"/g)) keys.add(m[1]!);
    for (const m of html.matchAll(/this\._\('([a-zA-Z0-9.-]+)'\)/g)) keys.add(m[1]!);
    for (const m of html.matchAll(/RED\._\('node-red-contrib-sip-locate\/[a-z-]+:([a-zA-Z0-9.-]+)'\)/g))
      keys.add(m[1]!);
    assert.ok(keys.size > 3, `${type} uses i18n`);
    for (const lang of ['en-US', 'de']) {
      const catalog = JSON.parse(readFileSync(join(root, 'nodes', 'locales', lang, `${type}.json`), 'utf8'));
      for (const k of keys) {
        const v = k
          .split('.')
          .reduce<unknown>(
            (o, p) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[p] : undefined),
            catalog,
          );
        assert.equal(typeof v, 'string', `${lang}/${type}.json lacks ${k}`);
      }
    }
  }
});
