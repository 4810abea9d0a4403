// One table per layer holds every default: docs/settings.md shows those values, the sip-resolver's editor gets them
// written in at build time, and the node's config maps onto the options the tables describe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_TRANSPORTS,
  DNS_OPTIONS,
  DNS_SWITCHES,
  LOCATOR_CHOICES,
  LOCATOR_OPTIONS,
  type NumberOptionSpec,
} from '../../src/core/locator/options';
import { MONITOR_OPTIONS } from '../../src/monitor/settings';
import {
  editorDefaults,
  optionsFromConfig,
  RESOLVER_NUMBER_FIELDS,
  RESOLVER_SWITCH_FIELDS,
} from '../../src/nodes/resolver-config';

const ROOT = join(__dirname, '..', '..');
const NUMBERS: Record<string, NumberOptionSpec> = { ...DNS_OPTIONS, ...LOCATOR_OPTIONS, ...MONITOR_OPTIONS };
const CHOICES: Record<string, string> = Object.fromEntries(
  Object.entries(LOCATOR_CHOICES).map(([k, v]) => [k, v.default]),
);
const SWITCHES: Record<string, boolean> = { ...DNS_SWITCHES, ...RESOLVER_SWITCH_FIELDS };

/** A documented number in the option's unit: "10 s" for an option in ms is 10000, "8 MiB" is 8388608. */
function inUnit(n: number, unit: string | undefined, spec: NumberOptionSpec): number {
  if (unit === 'MiB') return n * 1024 * 1024;
  if (unit === 'KiB') return n * 1024;
  if (unit === 's' && spec.unit === 'ms') return n * 1000;
  if (unit === 'ms' && spec.unit === 's') return n / 1000;
  return n;
}

/** The sip-resolver table of docs/settings.md: each row's option names and its default cell. */
function resolverRows(): { options: string[]; cell: string }[] {
  const text = readFileSync(join(ROOT, 'docs', 'settings.md'), 'utf8');
  const section = text.slice(text.indexOf('## sip-resolver'), text.indexOf('## sip-locate'));
  return section
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| setting') && !l.startsWith('|---'))
    .map((l) => {
      const cells = l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      return { options: [...cells[0]!.matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]!), cell: cells[1]! };
    });
}

test('every default docs/settings.md shows for the sip-resolver is the one in the options tables', () => {
  const documented = new Set<string>();
  let checked = 0;
  for (const { options, cell } of resolverRows()) {
    const numbers = [...cell.matchAll(/(\d[\d,]*(?:\.\d+)?)\s*(ms|s|MiB|KiB)?\b/g)].map((m) => ({
      n: Number(m[1]!.replace(/,/g, '')),
      unit: m[2],
    }));
    const words = [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const switches = [...cell.matchAll(/\b(on|off)\b/g)].map((m) => m[1] === 'on');
    let ni = 0;
    let wi = 0;
    let si = 0;
    for (const name of options) {
      const spec = NUMBERS[name];
      if (spec) {
        // "100,000 each": one number for the row's options.
        const d = numbers[Math.min(ni++, numbers.length - 1)];
        assert.ok(d, `${name}: no default in "${cell}"`);
        assert.equal(inUnit(d.n, d.unit, spec), spec.default, `${name}: docs say "${cell}"`);
      } else if (name in CHOICES) {
        assert.equal(words[wi++], CHOICES[name], `${name}: docs say "${cell}"`);
      } else if (name === 'transports') {
        assert.equal(words[wi++], DEFAULT_TRANSPORTS.join(','), `${name}: docs say "${cell}"`);
      } else if (name in SWITCHES) {
        assert.equal(switches[si++], SWITCHES[name], `${name}: docs say "${cell}"`);
      } else continue;
      documented.add(name);
      checked++;
    }
  }
  for (const f of Object.values(RESOLVER_NUMBER_FIELDS))
    assert.ok(documented.has(f.option), `docs/settings.md shows no default for ${f.option}`);
  for (const name of [
    ...Object.keys(MONITOR_OPTIONS),
    ...Object.keys(RESOLVER_SWITCH_FIELDS),
    ...Object.keys(LOCATOR_CHOICES),
  ]) {
    assert.ok(documented.has(name), `docs/settings.md shows no default for ${name}`);
  }
  assert.ok(checked >= 30, `checked ${checked} defaults`);
});

test('each DNS option default docs/dns.md lists is the one in DNS_OPTIONS / DNS_SWITCHES', () => {
  const text = readFileSync(join(ROOT, 'docs', 'dns.md'), 'utf8');
  const seen: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\| `(\w+)` +\| `?([\w.,]+)`? +\|/.exec(line);
    if (!m || !(m[1]! in DNS_OPTIONS || m[1]! in DNS_SWITCHES)) continue;
    const name = m[1]!;
    const expected =
      name in DNS_OPTIONS
        ? String(DNS_OPTIONS[name as keyof typeof DNS_OPTIONS].default)
        : String(DNS_SWITCHES[name as keyof typeof DNS_SWITCHES]);
    assert.equal(m[2]!.replace(/,/g, ''), expected, `docs/dns.md: ${name}`);
    seen.push(name);
  }
  assert.deepEqual(seen.sort(), ['adaptive', 'hedge', 'maxTimeoutMs', 'timeoutMs', 'tries']);
});

test("the built editor carries the tables' defaults, and keeps no number of its own", () => {
  const built = readFileSync(join(ROOT, 'dist', 'nodes', 'sip-resolver.html'), 'utf8');
  const m = /var DEFAULTS = (\{.*?\});\n/.exec(built);
  assert.ok(m, 'npm run build wrote the defaults into dist/nodes/sip-resolver.html');
  assert.deepEqual(JSON.parse(m[1]!), editorDefaults());
  const d = editorDefaults();
  assert.deepEqual(
    d.numbers.resolveTimeout,
    { value: 10, min: 0.001, max: 600, integer: false },
    'resolveTimeout is shown in seconds',
  );
  assert.equal(d.numbers.staleBytes!.value, LOCATOR_OPTIONS.staleBytes.default);
  assert.equal(d.numbers.maxTimeout!.value, DNS_OPTIONS.maxTimeoutMs.default);
  assert.deepEqual(d.switches, { hedge: true, adaptive: true, numericReportsShared: false });
  const source = readFileSync(join(ROOT, 'nodes', 'sip-resolver.html'), 'utf8');
  const defaults = source.slice(source.indexOf('defaults: {'), source.indexOf('credentials: {'));
  assert.doesNotMatch(defaults, /value: \d/, "no number typed into the editor's defaults");
  assert.doesNotMatch(source, /\.val\(\d/, 'no number backfilled by hand');
  assert.doesNotMatch(source, /\.val\('[a-z]/, 'no choice backfilled by hand');
  assert.doesNotMatch(defaults, /value: '[a-z]/, "no choice typed into the editor's defaults");
});

test("optionsFromConfig maps the new fields; a node saved before them runs with the options' defaults", () => {
  const o = optionsFromConfig({
    id: 'r',
    maxTimeout: '3000',
    adaptive: false,
    hedge: 'false',
    staleBytes: '1024',
    numericReportsShared: true,
    resolveTimeout: '0.8',
    greylist: 5,
  });
  assert.deepEqual(
    [o.maxTimeoutMs, o.adaptive, o.hedge, o.staleBytes, o.numericReportsShared, o.resolveTimeoutMs, o.greylistSeconds],
    [3000, false, false, 1024, true, 800, 5],
  );
  const old = optionsFromConfig({ id: 'r' });
  assert.deepEqual(
    [old.maxTimeoutMs, old.adaptive, old.hedge, old.staleBytes, old.numericReportsShared, old.transports, old.family],
    [undefined, undefined, undefined, undefined, undefined, undefined, undefined],
  );
});
