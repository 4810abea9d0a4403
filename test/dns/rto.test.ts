// The retransmission timer (RFC 6298 style) with made-up round trips: no clock is read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADAPTED_BACKOFF, RetransmitTimer, RTO_MARGIN_MS, RTO_MIN_MS } from '../../src/core/dns/rto';

const bounds = { initialMs: 2000, maxMs: 5000, adaptive: true };

test('before any sample the first guess is timeoutMs; each retransmission doubles it up to maxTimeoutMs', () => {
  const t = new RetransmitTimer(bounds);
  assert.deepEqual(
    [0, 1, 2, 3].map((n) => t.timeout(n)),
    [2000, 4000, 5000, 5000],
  );
  assert.deepEqual(t.snapshot(), { srttMs: null, rttvarMs: null, samples: 0, timeoutMs: 2000, hedgeMs: null });
});

test('converges on a steady 20 ms round trip: srtt 20, the timeout at the floor srtt + 10 ms', () => {
  const t = new RetransmitTimer(bounds);
  t.sample(20);
  assert.equal(t.timeout(0), 60, 'first sample: srtt 20 + 4 x rttvar 10');
  for (let i = 0; i < 40; i++) t.sample(20);
  assert.equal(t.snapshot().srttMs, 20);
  assert.equal(t.timeout(0), 20 + RTO_MARGIN_MS);
  assert.equal(ADAPTED_BACKOFF, 1.5);
  assert.deepEqual(
    [1, 2, 3].map((n) => t.timeout(n)),
    [45, 68, 101],
    'an adapted timeout grows by half per copy of one question',
  );
});

test('the classic timer (adaptive off) still doubles per copy, samples or not', () => {
  const t = new RetransmitTimer({ ...bounds, adaptive: false });
  for (let i = 0; i < 40; i++) t.sample(20);
  assert.deepEqual(
    [0, 1, 2].map((n) => t.timeout(n)),
    [2000, 4000, 5000],
  );
});

test('follows a change of path: from 20 ms to 200 ms the timeout rises above the new round trip', () => {
  const t = new RetransmitTimer(bounds);
  for (let i = 0; i < 20; i++) t.sample(20);
  for (let i = 0; i < 40; i++) t.sample(200);
  assert.ok(t.timeout(0) > 200 && t.timeout(0) <= 230, String(t.timeout(0)));
});

test('jitter widens the timeout by four times the variance', () => {
  const t = new RetransmitTimer(bounds);
  for (let i = 0; i < 200; i++) t.sample(i % 2 === 0 ? 10 : 30);
  const s = t.snapshot();
  assert.equal(s.srttMs !== null && Math.abs(s.srttMs - 20) < 2, true, String(s.srttMs));
  assert.ok(t.timeout(0) >= 55 && t.timeout(0) <= 65, `about 20 + 4 x 10: ${t.timeout(0)}`);
});

test('floor: a 1 ms round trip still waits RTO_MIN_MS; ceiling: a 10 s round trip never waits past timeoutMs', () => {
  const fast = new RetransmitTimer(bounds);
  for (let i = 0; i < 50; i++) fast.sample(1);
  assert.equal(fast.timeout(0), RTO_MIN_MS);
  const slow = new RetransmitTimer(bounds);
  for (let i = 0; i < 50; i++) slow.sample(10_000);
  assert.equal(slow.timeout(0), 2000);
  assert.equal(slow.timeout(5), 5000);
});

test('adaptive false pins the first timeout to timeoutMs whatever the samples', () => {
  const t = new RetransmitTimer({ ...bounds, initialMs: 300, adaptive: false });
  for (let i = 0; i < 50; i++) t.sample(20);
  assert.deepEqual(
    [0, 1, 2].map((n) => t.timeout(n)),
    [300, 600, 1200],
  );
});

test('bad samples (negative, NaN) are ignored', () => {
  const t = new RetransmitTimer(bounds);
  t.sample(-1);
  t.sample(Number.NaN);
  assert.equal(t.snapshot().samples, 0);
  assert.equal(t.timeout(0), 2000);
});

test('the early copy (hedgeAt): none before a sample, with the classic timer, or on loopback; about srtt + 2 x rttvar, before the timeout', () => {
  const t = new RetransmitTimer(bounds);
  assert.equal(t.hedgeAt(), undefined, 'no round trip measured yet');
  for (let i = 0; i < 200; i++) t.sample(i % 2 === 0 ? 18 : 22);
  assert.equal(t.hedgeAt(), 24, 'srtt 20 + 2 x rttvar 2.1, rounded');
  assert.equal(t.timeout(0), 20 + RTO_MARGIN_MS);
  assert.deepEqual(t.snapshot(), { srttMs: 20.1, rttvarMs: 2.1, samples: 200, timeoutMs: 30, hedgeMs: 24 });
  const loopback = new RetransmitTimer(bounds);
  for (let i = 0; i < 40; i++) loopback.sample(0.3);
  assert.equal(loopback.timeout(0), RTO_MIN_MS);
  assert.equal(loopback.hedgeAt(), undefined, 'the timeout is at its 20 ms floor: no room for an early copy');
  const classic = new RetransmitTimer({ ...bounds, adaptive: false });
  for (let i = 0; i < 40; i++) classic.sample(20);
  assert.equal(classic.hedgeAt(), undefined);
});
