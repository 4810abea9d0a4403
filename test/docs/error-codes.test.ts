// docs/error-codes.md lists exactly the codes of the ErrorCode union in src/core/errors.ts: each one once, none more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** The codes of the ErrorCode union, read from its source (a type has no runtime form to enumerate). */
function declaredCodes(): string[] {
  const src = readFileSync(join(root, 'src', 'core', 'errors.ts'), 'utf8').replace(/\/\/.*$/gm, '');
  const union = /export type ErrorCode =([\s\S]*?);/.exec(src);
  assert.ok(union, 'src/core/errors.ts declares export type ErrorCode = ...;');
  return [...union[1]!.matchAll(/'([A-Z0-9]+)'/g)].map((m) => m[1]!);
}

/** The codes in the first column of docs/error-codes.md's tables. */
function documentedCodes(): string[] {
  const md = readFileSync(join(root, 'docs', 'error-codes.md'), 'utf8');
  const rows = md.split('\n').filter((l) => l.startsWith('| `'));
  return rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`(E[A-Z0-9]+)`/g)].map((m) => m[1]!));
}

test('every code in src/core/errors.ts is in docs/error-codes.md, and nothing else is', () => {
  const declared = declaredCodes();
  const documented = documentedCodes();
  // The parser read the whole union: its first and last codes, and at least the 37 it had when this test was written.
  assert.equal(declared[0], 'EINVALIDURI');
  assert.equal(declared.at(-1), 'EINTERNAL');
  assert.ok(declared.length >= 37, `${declared.length} codes read`);
  assert.deepEqual(documented.filter((c, i) => documented.indexOf(c) !== i), [], 'codes documented twice');
  assert.deepEqual(declared.filter((c) => !documented.includes(c)), [], 'codes missing from docs/error-codes.md');
  assert.deepEqual(documented.filter((c) => !declared.includes(c)), [], 'documented codes that errors.ts does not declare');
});
