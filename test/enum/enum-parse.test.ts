// The tel: parser, the RFC 3402 regexp evaluator and ENUM rule selection: examples and properties (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { enumDomain, parseTelUri } from '../../src/core/enum/tel';
import { applyRegexp, MAX_INPUT_LENGTH, MAX_REGEXP_LENGTH, MAX_RESULT_LENGTH } from '../../src/core/enum/regexp';
import { classifyEnumNaptr, isSipEnumService } from '../../src/core/enum/naptr';
import { createLocator } from '../../src/core/locator';
import { SipLocateError } from '../../src/core/errors';

function telError(input: unknown): SipLocateError {
  try {
    parseTelUri(input);
  } catch (err) {
    assert.ok(err instanceof SipLocateError);
    return err;
  }
  assert.fail(`${String(input)} parsed`);
}

test('tel: global numbers: visual separators dropped, parameters kept, angle brackets accepted', () => {
  assert.deepEqual(parseTelUri('tel:+1-202-555-0101'), { number: '+12025550101', params: [] });
  assert.deepEqual(parseTelUri('<TEL:+1.(202).555.0101;ext=12;isub=7>'), {
    number: '+12025550101',
    params: [
      { name: 'ext', value: '12' },
      { name: 'isub', value: '7' },
    ],
  });
  assert.equal(enumDomain('+12025550101', 'e164.arpa'), '1.0.1.0.5.5.5.2.0.2.1.e164.arpa');
});

test('tel: local numbers need a "+" phone-context; without one they are refused with a sentence', () => {
  assert.equal(parseTelUri('tel:555-0101;phone-context=+1-202').number, '+12025550101');
  const none = telError('tel:5550101');
  assert.equal(none.code, 'EINVALIDURI');
  assert.match(none.message, /needs a phone-context/);
  assert.match(telError('tel:5550101;phone-context=example.com').message, /is a domain, not a "\+" prefix/);
  assert.match(telError('tel:+1234567890123456').message, /at most 15 digits/);
  assert.match(telError('tel:+12a4').message, /only digits/);
  assert.match(telError('sip:+1@example.com').message, /must start with tel:/);
  assert.equal(telError(42).code, 'EINVALIDURI');
});

test('property: any string into the tel: parser gives a number or EINVALIDURI, never another throw', () => {
  const telish = fc.stringMatching(/^(tel:)?[+0-9().;=a-z -]{0,40}$/);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string(),
        fc.string().map((s) => 'tel:' + s),
        telish,
      ),
      (s) => {
        try {
          const t = parseTelUri(s);
          assert.match(t.number, /^\+[0-9]{1,15}$/);
        } catch (err) {
          assert.ok(err instanceof SipLocateError && err.code === 'EINVALIDURI', String(err));
          assert.ok(err.message.length > 20);
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('RFC 3402 regexps: whole-string rules, backreferences, the i flag, escaped delimiters', () => {
  assert.deepEqual(applyRegexp('!^.*$!sip:info@example.com!', '+4689761234'), {
    ok: true,
    result: 'sip:info@example.com',
  });
  assert.deepEqual(applyRegexp('!^\\+1(...)(.*)$!sip:\\2@\\1.example.com!', '+12025550101'), {
    ok: true,
    result: 'sip:5550101@202.example.com',
  });
  assert.deepEqual(applyRegexp('/^abc$/sip:x@y/i', 'ABC'), { ok: true, result: 'sip:x@y' });
  assert.equal(applyRegexp('/^abc$/sip:x@y/', 'ABC').ok, false, 'without i the case matters');
  assert.deepEqual(
    applyRegexp('#^\\+(.*)$#sip:\\1\\#x@y#', '+12'),
    { ok: true, result: 'sip:12#x@y' },
    'an escaped delimiter in the replacement',
  );
  assert.deepEqual(
    applyRegexp('|^\\+1\\|(.*)$|sip:\\1@h|', '+1|999'),
    { ok: true, result: 'sip:999@h' },
    'an escaped delimiter in the pattern stands for itself',
  );
});

test('RFC 3402 regexps: malformed ones come back as reasons', () => {
  const why = (field: string, input = '+12025550101'): string => {
    const r = applyRegexp(field, input);
    assert.equal(r.ok, false);
    return (r as { why: string }).why;
  };
  assert.match(why(''), /empty/);
  assert.match(why('1^.*$1x1'), /cannot delimit/);
  assert.match(why('!^.*$!sip:x@y'), /three "!" delimiters/);
  assert.match(why('!^.*$!sip:x@y!g'), /flags "g"/);
  assert.match(why('!^(.*$!sip:x@y!'), /does not compile/);
  assert.match(why('!^.*$!sip:\\1@y!'), /uses \\1 but the pattern has 0 groups/);
  assert.match(why('!^.*$!sip:\\x@y!'), /not a backreference/);
  assert.match(why('!^9$!sip:x@y!'), /does not match/);
  assert.match(why('!' + 'a'.repeat(MAX_REGEXP_LENGTH) + '!x!'), /longer than 255/);
  assert.match(why('!^.*$!x!', '+'.repeat(MAX_INPUT_LENGTH + 1)), /input is longer/);
  assert.match(
    why('!^(.*)$!' + '\\1'.repeat(120) + '!', '+' + '1'.repeat(60)),
    new RegExp(`longer than ${MAX_RESULT_LENGTH}`),
  );
});

test('a pattern catastrophic for backtracking is evaluated in linear time', () => {
  // CPU time, not the clock: other processes on a busy machine do not count against the budget.
  const cpu0 = process.cpuUsage();
  // JavaScript's own engine needs seconds for this at 16 characters and doubles with each one more.
  const r = applyRegexp('!^(((\\+|[0-9])*)*)*X$!sip:evil@example.com!', '+' + '1'.repeat(60));
  assert.equal(r.ok, false);
  const cpu = process.cpuUsage(cpu0);
  assert.ok((cpu.user + cpu.system) / 1000 < 5000);
});

test('property: any field and input into the regexp evaluator gives a result or a reason, never a throw', () => {
  const field = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc
      .tuple(
        fc.constantFrom('!', '/', '#', '|', '^'),
        fc.string({ maxLength: 30 }),
        fc.string({ maxLength: 30 }),
        fc.constantFrom('', 'i', 'x'),
      )
      .map(([d, ere, repl, flags]) => `${d}${ere}${d}${repl}${d}${flags}`),
    fc
      .tuple(fc.stringMatching(/^[\\^$.*+?()[\]{}|0-9a-z+]{0,20}$/), fc.stringMatching(/^(sip:|\\[0-9]|[a-z@.])*$/))
      .map(([ere, repl]) => `!${ere}!${repl}!`),
  );
  fc.assert(
    fc.property(field, fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^\+[0-9]{1,15}$/)), (f, input) => {
      const r = applyRegexp(f, input);
      if (r.ok) assert.ok(r.result.length <= MAX_RESULT_LENGTH);
      else assert.ok(r.why.length > 5);
    }),
    { numRuns: 3000 },
  );
  assert.equal(applyRegexp(undefined, '+1').ok, false);
});

test('ENUM services: E2U+sip (RFC 3764) and E2U+voice:sip (RFC 4415), case-insensitive; others not', () => {
  for (const s of ['E2U+sip', 'e2u+SIP', 'E2U+voice:sip', 'E2U+email:mailto+sip', 'E2U+voice:tel+voice:sip'])
    assert.ok(isSipEnumService(s), s);
  for (const s of ['E2U+h323', 'E2U+voice:tel', 'E2U', 'SIP+D2U', 'E2U+sip:foo', ''])
    assert.ok(!isSipEnumService(s), s);
  const rec = (flags: string, services: string, regexp: string, replacement = '.') => ({
    order: 1,
    preference: 1,
    flags,
    services,
    regexp,
    replacement,
  });
  assert.equal(classifyEnumNaptr(rec('U', 'E2U+sip', '!^.*$!sip:a@b!')).kind, 'terminal');
  assert.equal(classifyEnumNaptr(rec('', 'E2U', '', 'next.example')).kind, 'nonterminal');
  assert.equal(
    classifyEnumNaptr(rec('', 'E2U', '!a!b!', 'next.example')).kind,
    'skip',
    'both a regexp and a replacement',
  );
  assert.equal(classifyEnumNaptr(rec('s', 'SIP+D2U', '', '_sip._udp.example')).kind, 'skip');
});

test('ENUM options are checked when the locator is made', () => {
  const code = (o: Parameters<typeof createLocator>[0]): string => {
    try {
      createLocator({ nameservers: ['127.0.0.1:1'], ...o }).close();
      return 'ok';
    } catch (err) {
      return (err as SipLocateError).code;
    }
  };
  assert.equal(code({ enumSuffixes: ['e164.carrier.example', 'e164.arpa.'] }), 'ok');
  assert.equal(code({ enumSuffixes: ['bad suffix'] }), 'EINVALIDOPTION');
  assert.equal(code({ enumSuffixes: Array.from({ length: 9 }, (_, i) => `s${i}.example`) }), 'EINVALIDOPTION');
  assert.equal(code({ enumFallback: 'sip:{number}@gw.example.com' }), 'ok');
  assert.equal(code({ enumFallback: 'sip:{digits}@gw.example.com;user=phone' }), 'ok');
  assert.equal(code({ enumFallback: 'mailto:{number}@gw.example.com' }), 'EINVALIDOPTION');
  assert.equal(code({ enumFallback: 'sip:{name}@gw.example.com' }), 'EINVALIDOPTION');
});

test('a DNS failure is reported as itself, not ENOENUM; enumFallback still routes the number and is not cached', async () => {
  const { deadNameserver } = await import('../servers/fake-dns');
  const ns = await deadNameserver();
  const plain = createLocator({ nameservers: [ns], timeoutMs: 500, tries: 1 });
  try {
    await assert.rejects(
      plain.locate('tel:+12025550101'),
      (err: unknown) => err instanceof SipLocateError && err.code === 'ECONNREFUSED',
    );
  } finally {
    plain.close();
  }
  const withFallback = createLocator({
    nameservers: [ns],
    timeoutMs: 500,
    tries: 1,
    enumFallback: 'sip:{digits}@127.0.0.9',
  });
  try {
    const r = await withFallback.locate('tel:+12025550101');
    assert.deepEqual(r.enum, { number: '+12025550101', uri: 'sip:12025550101@127.0.0.9', fallback: true });
    assert.equal(r.targets[0]!.address, '127.0.0.9');
    assert.equal(
      withFallback.locateCached('tel:+12025550101'),
      undefined,
      'a fallback taken because DNS failed is not kept',
    );
  } finally {
    withFallback.close();
  }
});

test('which inputs take the ENUM step: tel: always; user=phone SIP URIs only when enabled', async () => {
  const { EnumStep } = await import('../../src/core/enum/step');
  const off = new EnumStep({}, { now: Date.now }, 10);
  const on = new EnumStep({ enumForUserPhone: true }, { now: Date.now }, 10);
  for (const uri of ['tel:+12025550101', '<tel:+1-202-555-0101>', 'Alice <TEL:+12025550101;ext=1>'])
    assert.ok(off.handles(uri), uri);
  for (const uri of [
    'sip:+12025550101@gw.example;user=phone',
    '"Bob" <sips:+1-202-555-0101;isub=3@gw.example:5061;transport=tcp;USER=Phone>',
  ]) {
    assert.ok(!off.handles(uri), uri);
    assert.ok(on.handles(uri), uri);
  }
  for (const uri of ['sip:+12025550101@gw.example', 'sip:gw.example;user=phone', 'sip:alice@gw.example;user=ip', 42])
    assert.ok(!on.handles(uri), String(uri));
});
