// The short fuzz run that npm test includes; `npm run fuzz` runs the long one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzClient, fuzzParsePath } from './fuzz';

test('20,000 mutated and generated replies through the parse path: no exception, no bad record accepted', () => {
  const r = fuzzParsePath(20_000, 20261124);
  assert.deepEqual(r.examples, []);
  assert.equal(r.crashes, 0);
  assert.equal(r.cases, 20_000);
  assert.ok(r.rejected > 10_000 && r.accepted > 100, `accepted ${r.accepted}, rejected ${r.rejected}`);
});

test('500 hostile replies over UDP to a real client: each query ends in an answer or a typed error', async () => {
  const r = await fuzzClient(500, 7);
  assert.deepEqual(r.examples, []);
  assert.equal(r.cases, 500);
  assert.equal(r.crashes, 0);
  assert.equal(r.unhandled, 0);
});
