// The main export is exactly what the README's "The library" section lists: its values at run time, its types in
// the entry file; internals (orderSrv, TRANSPORTS, ...) stay out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as core from '../../src/core/index';

const root = join(__dirname, '..', '..');

function readmeList(kind: 'values' | 'types'): string[] {
  const page = readFileSync(join(root, 'docs', 'library.md'), 'utf8');
  const m = new RegExp(`^- ${kind}: ([\\s\\S]*?)(?=\\n- |\\n\\n)`, 'm').exec(
    page.slice(page.indexOf('The main export holds exactly these')),
  );
  assert.ok(m, `docs/library.md lists the main export's ${kind}`);
  return [...m[1]!.matchAll(/`(\w+)`/g)].map((x) => x[1]!).sort();
}

/** The type names src/core/index.ts exports: `type X`, `export type { A, B as C }`. */
function exportedTypes(): string[] {
  const src = readFileSync(join(root, 'src', 'core', 'index.ts'), 'utf8');
  const names: string[] = [];
  for (const block of src.matchAll(/export (type )?\{([^}]*)\}/g)) {
    for (const part of block[2]!
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const isType = block[1] !== undefined || part.startsWith('type ');
      if (isType)
        names.push(
          part
            .replace(/^type /, '')
            .split(/\s+as\s+/)
            .pop()!
            .trim(),
        );
    }
  }
  return names.sort();
}

test("the main export's values are exactly the README's list", () => {
  assert.deepEqual(Object.keys(core).sort(), readmeList('values'));
  for (const internal of ['orderSrv', 'TRANSPORTS', 'unexpected', 'toSipLocateError', 'parseNameserver'])
    assert.equal(internal in core, false, `${internal} is not exported`);
});

test("the main export's types are exactly the list in docs/library.md: one options type and one locator type", () => {
  const types = exportedTypes();
  assert.deepEqual(types, readmeList('types'));
  assert.ok(types.includes('LocatorOptions') && types.includes('Locator'));
  assert.equal(types.includes('CreateLocatorOptions') || types.includes('SipLocator'), false);
});

test('the public options type holds no test-only injection points', () => {
  const options: core.LocatorOptions = {};
  // @ts-expect-error querier is a test-only injection point (LocatorTestOptions), not a public option
  options.querier = undefined;
  // @ts-expect-error system is a test-only injection point (LocatorTestOptions), not a public option
  options.system = undefined;
  assert.deepEqual(Object.keys(core).includes('createTestLocator'), false);
});
