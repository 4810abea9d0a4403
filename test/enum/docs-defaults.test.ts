// Every bound docs/enum.md and docs/state-stores.md state is the value the code uses: each table row that names
// a constant (last column, in backticks) is checked against that constant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENUM_REGEXP_MS, MAX_ENUM_CHAIN, MAX_ENUM_QUERIES, MAX_ENUM_REGEXPS } from '../../src/core/enum/lookup';
import { MAX_ENUM_NAPTR } from '../../src/core/enum/naptr';
import {
  MAX_COMPILED_PATTERNS,
  MAX_PATTERN_SIZE,
  MAX_PROGRAM_SIZE,
  MAX_REPEAT_COUNT,
} from '../../src/core/enum/regexp';
import {
  HANDED_OUT_MS,
  MAX_REPORT_MARKS,
  REPORT_MARKS_PER_WINDOW,
  REPORT_WINDOW_MS,
} from '../../src/core/failover/report-guard';
import { MAX_PLAN_BYTES, MAX_PLAN_NAMES } from '../../src/core/rfc3263/plan-record';
import { LOCATOR_OPTIONS } from '../../src/core/locator/options';
const DEFAULT_STALE_BYTES = LOCATOR_OPTIONS.staleBytes.default;
import { MAX_VALUE_BYTES } from '../../src/store/redis-plans';

// The option defaults come from the locator's options; until one options table exists, from the constants it uses.
const CODE: Record<string, number> = {
  MAX_ENUM_QUERIES,
  MAX_ENUM_CHAIN,
  MAX_ENUM_NAPTR,
  MAX_ENUM_REGEXPS,
  ENUM_REGEXP_MS,
  MAX_REPEAT_COUNT,
  MAX_PATTERN_SIZE,
  MAX_PROGRAM_SIZE,
  MAX_COMPILED_PATTERNS,
  HANDED_OUT_MS,
  REPORT_MARKS_PER_WINDOW,
  REPORT_WINDOW_MS,
  MAX_REPORT_MARKS,
  DEFAULT_STALE_BYTES,
  MAX_PLAN_NAMES,
  MAX_PLAN_BYTES,
  MAX_VALUE_BYTES,
};

/** A documented value in the code's unit: "15 min" and "60 s" in ms, "8 MiB" and "64 KiB" in bytes, "10,000 (...)" as 10000. */
function valueOf(text: string): number {
  const m = /^([\d,]+)\s*(min|s|MiB|KiB)?/.exec(text.trim());
  assert.ok(m, `"${text}" is not a number`);
  const n = Number(m[1]!.replace(/,/g, ''));
  const unit = { min: 60_000, s: 1000, MiB: 1024 * 1024, KiB: 1024 }[m[2] ?? ''] ?? 1;
  return n * unit;
}

test('each bound in docs/enum.md and docs/state-stores.md is the constant it names', () => {
  let checked = 0;
  for (const file of ['enum.md', 'state-stores.md']) {
    const text = readFileSync(join(__dirname, '..', '..', 'docs', file), 'utf8');
    for (const line of text.split('\n')) {
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      if (cells.length < 3) continue;
      const names = [...cells[cells.length - 1]!.matchAll(/`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`/g)].map((m) => m[1]!);
      for (const name of names) {
        assert.ok(name in CODE, `${file}: ${name} is not a constant this test knows`);
        assert.equal(valueOf(cells[cells.length - 2]!), CODE[name], `${file}: ${name}`);
        checked++;
      }
    }
  }
  assert.equal(checked, Object.keys(CODE).length, 'every constant is documented once');
});

test('the staleBytes default of the locator is DEFAULT_STALE_BYTES: plans beyond it are dropped', async () => {
  const { createLocator } = await import('../../src/core/locator');
  const { planRecordBytes } = await import('../../src/core/rfc3263/plan-record');
  const now = Date.now();
  const l = createLocator({ nameservers: ['127.0.0.1:9'], cacheSize: 1_000_000 });
  try {
    const plan = (i: number) => ({
      destination: `sip:p${String(i).padStart(6, '0')}.example`,
      entries: [
        {
          kind: 'address' as const,
          transport: 'udp' as const,
          source: 'address' as const,
          host: 'h'.repeat(200),
          port: 5060,
          addrs: { host: 'h'.repeat(200), v4: ['192.0.2.1'], v6: [], ttl: 60 },
        },
      ],
      ttl: 60,
      savedAt: now,
      expiresAt: now + 60_000,
    });
    const each = planRecordBytes(plan(0));
    const fit = Math.floor(DEFAULT_STALE_BYTES / each);
    for (let i = 0; i < fit + 100; i++) l.apply({ op: 'plan', plan: plan(i) });
    assert.equal(l.savedPlans().length, fit);
  } finally {
    l.close();
  }
});
