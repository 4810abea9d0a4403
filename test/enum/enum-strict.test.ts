// Strict ENUM results (issue 23): only a sip:/sips: URI that can go into a Request-URI as it is; injected text skips the record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { strictSipUriProblem } from '../../src/core/uri';
import { EnumStep } from '../../src/core/enum/step';
import { SipLocateError } from '../../src/core/errors';
import { INJECTED_URIS } from './hostile-zone';

test('the injected results the audit found are each refused, with the reason', () => {
  const why = INJECTED_URIS.map((u) => strictSipUriProblem(u));
  assert.deepEqual(why, [
    'holds white space, a control byte, a non-ASCII character or one of < > "',
    'holds white space, a control byte, a non-ASCII character or one of < > "',
    'has a header part ("?...")',
    'holds white space, a control byte, a non-ASCII character or one of < > "',
    'holds white space, a control byte, a non-ASCII character or one of < > "',
    'has a user part that is not RFC 3261 user characters (a password, "?" or a malformed %-escape)',
    'holds white space, a control byte, a non-ASCII character or one of < > "',
    'is not a sip: or sips: URI',
  ]);
});

test('well-formed results pass: user characters, escapes, token parameters, IPv6 and ports', () => {
  for (const ok of [
    'sip:alice@a.enum.test',
    'sips:+12025550101@pbx.example;user=phone',
    'sip:pbx.example:5060;transport=tcp',
    'sip:bob@[2001:db8::1]:5061',
    'sip:%61lice@x.example',
    "sip:a.b-c_d!~*'()&=+$,;/@x.example;lr",
  ]) {
    assert.equal(strictSipUriProblem(ok), undefined, ok);
  }
  assert.match(strictSipUriProblem('sip:bob:secret@x.example') ?? '', /password/);
  assert.match(strictSipUriProblem('sip:bob@x.example;maddr=[2001:db8::1]') ?? '', /not token characters/);
  assert.match(strictSipUriProblem('sip:bob@bad_host..example') ?? '', /not a usable SIP URI/);
});

test('property: a result holding a control byte, space, DEL, non-ASCII or < > " is always refused', () => {
  const bad = fc.constantFrom(
    ...[...Array.from({ length: 33 }, (_, i) => String.fromCharCode(i)), '\x7f', '<', '>', '"', 'é', '\u2028'],
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 20 }), bad, fc.string({ maxLength: 20 }), (a, c, b) => {
      assert.notEqual(strictSipUriProblem(`sip:${a}${c}${b}@pbx.example`), undefined);
      assert.notEqual(strictSipUriProblem(`sip:bob@pbx.example;${a}${c}${b}`), undefined);
    }),
    { numRuns: 500 },
  );
});

test('enumFallback takes the same rule: a template with a header part, a space or brackets is EINVALIDOPTION', () => {
  const clock = { now: () => 0 };
  for (const t of [
    'sip:{number}@gw.example?Route=x',
    'sip:{number} @gw.example',
    'sip:{number}@gw.example;x=<a>',
    '<sip:{number}@gw.example>',
  ]) {
    assert.throws(
      () => new EnumStep({ enumFallback: t }, clock, 10),
      (e: unknown) => e instanceof SipLocateError && e.code === 'EINVALIDOPTION' && e.message.includes('header part'),
      t,
    );
  }
  assert.doesNotThrow(() => new EnumStep({ enumFallback: 'sip:{number}@gw.example;user=phone' }, clock, 10));
});
