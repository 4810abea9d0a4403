// The error contract: every code written in src/ is declared in the ErrorCode union and listed in docs/error-codes.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
/** Redis commands that look like codes (quoted, upper case, starting with E). */
const REDIS_COMMANDS = new Set(['EVAL', 'EVALSHA', 'EXISTS', 'EXPIRE', 'EXEC', 'E2U']); // and E2U, the ENUM service tag (RFC 6116)

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every error code in src/ is declared in src/core/errors.ts and in docs/error-codes.md, and every declared one is documented once', () => {
  const declared = new Set(
    [...readFileSync(join(root, 'src/core/errors.ts'), 'utf8').matchAll(/\|\s*'(E[A-Z0-9]+)'/g)].map((m) => m[1]!),
  );
  const page = readFileSync(join(root, 'docs', 'error-codes.md'), 'utf8');
  const rows = page
    .split('\n')
    .filter((l) => l.startsWith('| `E'))
    .flatMap((l) => [...l.split('|')[1]!.matchAll(/`(E[A-Z0-9]+)`/g)].map((m) => m[1]!));
  assert.deepEqual(
    rows.filter((c, i) => rows.indexOf(c) !== i),
    [],
    'codes listed twice in docs/error-codes.md',
  );
  const documented = new Set(rows);
  const emitted = new Map<string, string>();
  for (const file of sources(join(root, 'src'))) {
    if (file.endsWith(join('core', 'errors.ts'))) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/['"`](E[A-Z0-9]{2,})['"`]/g)) {
      const compared = /[!=]==?\s*$/.test(text.slice(Math.max(0, m.index - 6), m.index)); // an errno read from a socket error
      if (!REDIS_COMMANDS.has(m[1]!) && !compared) emitted.set(m[1]!, file.slice(root.length + 1));
    }
  }
  assert.ok(declared.size >= 30 && emitted.size >= 25, `${declared.size} declared, ${emitted.size} found in src/`);
  for (const [code, file] of emitted) assert.ok(declared.has(code), `${code} (${file}) is not in the ErrorCode union`);
  for (const code of declared) assert.ok(documented.has(code), `${code} is not in docs/error-codes.md`);
  for (const code of documented)
    assert.ok(declared.has(code), `docs/error-codes.md lists ${code}, which is not declared`);
});

test('codes from sockets are mapped, not passed through: the prober reports only declared codes', () => {
  const prober = readFileSync(join(root, 'src/probe/prober.ts'), 'utf8');
  assert.doesNotMatch(prober, /code:\s*err\.code/, 'a Node errno code would reach msg.sip.error.code');
});
