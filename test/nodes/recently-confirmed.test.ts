// The skipIfConfirmedWithin memory: a window, forgetting on failure, and its bound at full size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_CONFIRMED, RecentlyConfirmed } from '../../src/nodes/recently-confirmed';

test('a confirmation counts for the window, a failure ends it, 0 never remembers', () => {
  let now = 1000;
  const r = new RecentlyConfirmed(5000, MAX_CONFIRMED, () => now);
  r.confirm('udp:192.0.2.1:5060');
  now += 4999;
  assert.equal(r.fresh('udp:192.0.2.1:5060'), true);
  now += 1;
  assert.equal(r.fresh('udp:192.0.2.1:5060'), false);
  r.confirm('udp:192.0.2.1:5060');
  r.forget('udp:192.0.2.1:5060');
  assert.equal(r.fresh('udp:192.0.2.1:5060'), false);
  const off = new RecentlyConfirmed(0);
  off.confirm('a');
  assert.deepEqual([off.fresh('a'), off.size], [false, 0]);
});

test(`bounded at ${MAX_CONFIRMED} keys: the oldest goes first, a renewed one stays`, () => {
  const r = new RecentlyConfirmed(60_000);
  for (let i = 0; i < MAX_CONFIRMED; i++) r.confirm(`k${i}`);
  assert.equal(r.size, MAX_CONFIRMED);
  r.confirm('k0');
  r.confirm('extra');
  assert.equal(r.size, MAX_CONFIRMED);
  assert.deepEqual([r.fresh('k0'), r.fresh('k1'), r.fresh('extra')], [true, false, true]);
});
