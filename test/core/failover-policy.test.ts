// failoverCodes: parsing (lists, classes, clear errors) and what a reported status decides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, parseFailoverCodes } from '../../src/core/failover/policy';
import { isSipLocateError } from '../../src/core/errors';

test('the default is 503 only: 486 and 603 are answers', () => {
  const p = parseFailoverCodes(undefined);
  assert.equal(p.text, '503');
  assert.deepEqual(
    [503, 500, 486, 603, 408].map((s) => p.fails(s)),
    [true, false, false, false, false],
  );
  assert.equal(parseFailoverCodes('').text, '503');
});

test('lists of codes and classes, with commas, spaces or semicolons; normalised text', () => {
  const p = parseFailoverCodes('408, 480 5xx;6XX, 503');
  assert.equal(p.text, '408, 480, 5xx, 6xx');
  assert.deepEqual(
    [408, 480, 500, 599, 603, 486, 404, 200].map((s) => p.fails(s)),
    [true, true, true, true, true, false, false, false],
  );
  assert.equal(parseFailoverCodes(['408', 503]).text, '408, 503');
  assert.equal(parseFailoverCodes(503).text, '503');
});

test('bad settings fail with EINVALIDOPTION and a sentence naming the item', () => {
  for (const [setting, words] of [
    ['50x', /"50x".*not a SIP status code/],
    ['200', /"200".*not a failure/],
    ['1xx', /not a failure/],
    ['99', /not a SIP status code/],
    ['503,abc', /"abc"/],
    ['5'.repeat(600), /longer than 500/],
    [{}, /list of SIP status codes/],
  ] as const) {
    assert.throws(
      () => parseFailoverCodes(setting),
      (e: unknown) => isSipLocateError(e, 'EINVALIDOPTION') && words.test(e.message),
      JSON.stringify(setting)?.slice(0, 20),
    );
  }
});

test('decide: 2xx confirms, listed codes fail over (503 + Retry-After black), others do nothing, no status means transport', () => {
  const p = parseFailoverCodes('408, 5xx');
  assert.deepEqual(decide(p, { status: 200 }), { action: 'confirm' });
  assert.deepEqual(decide(p, { status: 503, retryAfter: 30 }), {
    action: 'failover',
    failure: { reason: '503', retryAfter: 30, status: 503 },
  });
  assert.deepEqual(decide(p, { status: 503 }), { action: 'failover', failure: { reason: '503', status: 503 } });
  assert.deepEqual(decide(p, { status: 408 }), { action: 'failover', failure: { reason: 'timeout', status: 408 } });
  assert.deepEqual(decide(p, { status: 500, retryAfter: 30 }), {
    action: 'failover',
    failure: { reason: 'transport', status: 500 },
  });
  assert.deepEqual(decide(p, { status: 486 }), { action: 'none', status: 486 });
  assert.deepEqual(decide(p, { reason: 'timeout' }), { action: 'failover', failure: { reason: 'timeout' } });
  assert.deepEqual(decide(p, {}), { action: 'failover', failure: { reason: 'transport' } });
});
