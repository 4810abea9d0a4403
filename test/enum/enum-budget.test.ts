// ENUM regexps on a budget (issue 23): a number whose answer holds 64 expensive regexps, served by a real NSD,
// neither freezes the event loop nor gets past the size bound; the ENUM question budget is 16.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLocator } from '../../src/core/locator';
import { SipLocateError } from '../../src/core/errors';
import {
  applyRegexp,
  compiledPatterns,
  MAX_COMPILED_PATTERNS,
  MAX_REPEAT_COUNT,
  patternTooLarge,
} from '../../src/core/enum/regexp';
import { MAX_ENUM_NAPTR } from '../../src/core/enum/naptr';
import { ENUM_REGEXP_MS, MAX_ENUM_QUERIES, MAX_ENUM_REGEXPS } from '../../src/core/enum/lookup';
import { skipUnless } from '../servers/dns-servers';
import { notes, nsdWithProxy } from '../system/harness';
import { createDnsClient } from '../../src/core/dns/client';
import { lookupEnum } from '../../src/core/enum/lookup';
import type { TraceNode } from '../../src/core/types';
import {
  INJECTED_NUMBER,
  INJECTED_URIS,
  CHAIN_NUMBER,
  CHAIN_SUFFIXES,
  COSTLY_NUMBER,
  HOSTILE_ENUM_ORIGIN,
  HOSTILE_RECORDS,
  hostileEnumZoneText,
  HUGE_NUMBER,
} from './hostile-zone';
import { COUNTED } from '../support/counting';

describe('ENUM regexp size bound and cache', () => {
  test('counted repetition above the bound is refused before compiling, with the reason', () => {
    assert.match(patternTooLarge('^' + '(.?){1000}'.repeat(24) + '$') ?? '', /counted repetition \{1000\} is above 15/);
    assert.match(patternTooLarge(`^(.){${MAX_REPEAT_COUNT + 1}}$`) ?? '', /above 15/);
    assert.match(patternTooLarge('^(.){2,16}$') ?? '', /\{2,16\} is above 15/);
    const out = applyRegexp('!^' + '(.?){1000}'.repeat(24) + '$!sip:x@pbx!', '+12025550101');
    assert.deepEqual(out, {
      ok: false,
      why: 'the counted repetition {1000} is above 15 (an E.164 number has at most 15 digits)',
    });
  });

  test('nested repetitions are multiplied out: ((.?){15}){15} is refused, the usual ENUM rules pass', () => {
    assert.match(patternTooLarge('^((.?){15}){15}$') ?? '', /expands to more than 256 instructions/);
    assert.match(patternTooLarge('^' + '(.?){10}'.repeat(13) + '$') ?? '', /expands to more than 256/);
    for (const ok of ['^.*$', '^\\+1(\\d{10})$', '^\\+(.*)$', '^\\+44([0-9]{1,15})$', '^(\\+[0-9]*)$', '^[^:]+$'])
      assert.equal(patternTooLarge(ok), undefined, ok);
    assert.deepEqual(applyRegexp('!^\\+1(\\d{10})$!sip:\\1@pbx.example!', '+12025550101'), {
      ok: true,
      result: 'sip:2025550101@pbx.example',
    });
  });

  test(`the compiled-pattern cache holds at most ${MAX_COMPILED_PATTERNS} patterns and refusals`, () => {
    for (let i = 0; i < MAX_COMPILED_PATTERNS + 50; i++)
      applyRegexp(`!^\\+${i}(.*)$!sip:\\1@pbx.example!`, '+12025550101');
    assert.equal(compiledPatterns(), MAX_COMPILED_PATTERNS);
  });
});

describe('ENUM hostile answers against NSD', { skip: skipUnless('nsd') }, () => {
  const served = nsdWithProxy([{ origin: HOSTILE_ENUM_ORIGIN, text: hostileEnumZoneText() }]);

  /**
   * Locates a number with a trace and a numeric enumFallback (so the look-up's notes come back) while recording the
   * event loop's longest delay; also checks that without the fallback the number is ENOENUM.
   */
  async function locateHostile(number: string): Promise<{ notes: string[]; maxDelayMs: number }> {
    const o = {
      nameservers: [served.proxy.nameserver],
      timeoutMs: 2000,
      tries: 2,
      family: 'ipv4' as const,
      enumSuffixes: [HOSTILE_ENUM_ORIGIN],
    };
    const l = createLocator({ ...o, enumFallback: 'sip:{digits}@127.0.0.1' });
    const strict = createLocator(o);
    const h = monitorEventLoopDelay({ resolution: 1 });
    try {
      // The answer is fetched first (a truncated UDP answer, then TCP), so the delay measured is the regexp work.
      await l.dns!.query(`${[...number.slice(1)].reverse().join('.')}.${HOSTILE_ENUM_ORIGIN}`, 'NAPTR');
      h.enable();
      const r = await l.locate(`tel:${number}`, { trace: true });
      h.disable();
      assert.equal(r.enum?.fallback, true);
      await assert.rejects(
        strict.locate(`tel:${number}`),
        (e: unknown) => e instanceof SipLocateError && e.code === 'ENOENUM',
      );
      return { notes: notes(r.trace), maxDelayMs: h.max / 1e6 };
    } finally {
      l.close();
      strict.close();
    }
  }

  test('64 records of (.?){1000} x 24: ENOENUM, every record refused or past the budget, the event loop never held for long', async () => {
    const r = await locateHostile(HUGE_NUMBER);
    const refused = r.notes.filter((n) => n.includes('the counted repetition {1000} is above 15'));
    const spent = r.notes.filter((n) =>
      n.includes(`the ENUM regexp budget of ${MAX_ENUM_REGEXPS} regexps or ${ENUM_REGEXP_MS} ms is spent`),
    );
    assert.equal(refused.length, MAX_ENUM_REGEXPS);
    assert.equal(spent.length, HOSTILE_RECORDS - MAX_ENUM_REGEXPS);
    // Before: 33 s in one turn. Refusing costs microseconds; the bound is loose for a machine under load.
    assert.ok(r.maxDelayMs < 250, `the event loop was held ${r.maxDelayMs} ms`);
  });

  test('64 distinct patterns under the size bound: at most 20 evaluated or 50 ms spent, then the rest skipped; the last usable record is not reached', async () => {
    const r = await locateHostile(COSTLY_NUMBER);
    const evaluated = r.notes.filter((n) => n.includes('the pattern does not match'));
    const spent = r.notes.filter((n) => n.includes('regexp budget') && n.includes('is spent'));
    assert.ok(evaluated.length >= 1 && evaluated.length <= MAX_ENUM_REGEXPS, `${evaluated.length} evaluated`);
    // The usable record (order 20) is the 65th: past the 64 records an RRset is read for.
    assert.equal(evaluated.length + spent.length, MAX_ENUM_NAPTR);
    assert.equal(HOSTILE_RECORDS, MAX_ENUM_NAPTR);
    assert.ok(r.maxDelayMs < 250, `the event loop was held ${r.maxDelayMs} ms`);
  });

  test(`ENUM asks at most ${MAX_ENUM_QUERIES} questions even when maxQueriesPerLocate allows 64`, async () => {
    // Chains of 6 names under each of 8 suffixes would take 48 questions.
    const l = createLocator({
      ...COUNTED,
      nameservers: [served.proxy.nameserver],
      timeoutMs: 2000,
      tries: 2,
      enumSuffixes: [...CHAIN_SUFFIXES],
      maxQueriesPerLocate: 64,
    });
    try {
      served.proxy.reset();
      await assert.rejects(
        l.locate(`tel:${CHAIN_NUMBER}`),
        (e: unknown) =>
          e instanceof SipLocateError &&
          e.code === 'ENOENUM' &&
          e.message.includes(`the ENUM query budget of ${MAX_ENUM_QUERIES} questions is spent`),
      );
      assert.equal(new Set(served.proxy.questions.map((q) => q.toLowerCase())).size, MAX_ENUM_QUERIES);
    } finally {
      l.close();
    }
  });

  test('injected results are skipped with a note each; the usable record after them is the answer', async () => {
    const client = createDnsClient({ nameservers: [served.proxy.nameserver], timeoutMs: 2000, tries: 2 });
    try {
      const node: TraceNode = { kind: 'enum', name: 'ENUM', children: [] };
      const found = await lookupEnum(client, INJECTED_NUMBER, [HOSTILE_ENUM_ORIGIN], node);
      assert.equal(found.match?.uri, 'sip:12025550197@pbx.enum.test;user=phone');
      const skipped = notes(node).filter((n) => n.startsWith('Skipped') && n.includes('the result'));
      assert.equal(skipped.length, INJECTED_URIS.length);
      for (const uri of INJECTED_URIS)
        assert.ok(
          skipped.some((n) => n.includes(JSON.stringify(uri))),
          uri,
        );
    } finally {
      client.close();
    }
  });
});
