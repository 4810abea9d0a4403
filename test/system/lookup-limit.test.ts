// The bound on operating-system look-ups: at most 8 in flight, 1,000 waiting, more refused at once; identical ones merged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitLookups, MAX_LOOKUPS_IN_FLIGHT, MAX_LOOKUPS_WAITING } from '../../src/core/system/lookup-limit';
import type { LookupAddress } from '../../src/core/system/lookup';

/** An OS resolver whose answers the test releases by hand. */
function heldLookup(): {
  lookup: (host: string) => Promise<LookupAddress[]>;
  calls: string[];
  release: (n: number) => void;
} {
  const calls: string[] = [];
  const held: Array<() => void> = [];
  return {
    calls,
    lookup: (host) => {
      calls.push(host);
      return new Promise((resolve) => held.push(() => resolve([{ address: '192.0.2.1', family: 4 }])));
    },
    release: (n) => {
      for (const r of held.splice(0, n)) r();
    },
  };
}

test(`at the bound: ${MAX_LOOKUPS_IN_FLIGHT} in flight, ${MAX_LOOKUPS_WAITING} waiting, the next one refused with EOVERLOAD`, async () => {
  const h = heldLookup();
  const limited = limitLookups(h.lookup);
  const total = MAX_LOOKUPS_IN_FLIGHT + MAX_LOOKUPS_WAITING;
  const accepted = Array.from({ length: total }, (_, i) => limited(`h${i}.example`, 0));
  assert.equal(limited.inFlight(), MAX_LOOKUPS_IN_FLIGHT);
  assert.equal(limited.waiting(), MAX_LOOKUPS_WAITING);
  assert.equal(h.calls.length, MAX_LOOKUPS_IN_FLIGHT);
  await assert.rejects(
    limited('one-too-many.example', 0),
    (err: unknown) => (err as { code?: string }).code === 'EOVERLOAD',
  );
  for (let done = 0; done < total; done += MAX_LOOKUPS_IN_FLIGHT) {
    h.release(MAX_LOOKUPS_IN_FLIGHT);
    await new Promise((r) => setImmediate(r));
    assert.ok(limited.inFlight() <= MAX_LOOKUPS_IN_FLIGHT);
  }
  const results = await Promise.all(accepted);
  assert.equal(results.length, total);
  assert.equal(h.calls.length, total);
  assert.equal(limited.inFlight(), 0);
  assert.equal(limited.waiting(), 0);
});

test('identical look-ups in flight are merged; a later one asks again', async () => {
  const h = heldLookup();
  const limited = limitLookups(h.lookup);
  const a = limited('pbx.lan', 0);
  const b = limited('pbx.lan', 0);
  const c = limited('pbx.lan', 4);
  assert.deepEqual(h.calls, ['pbx.lan', 'pbx.lan']);
  h.release(2);
  assert.deepEqual(await a, await b);
  await c;
  const d = limited('pbx.lan', 0);
  h.release(1);
  await d;
  assert.equal(h.calls.length, 3);
});

test('a lookup that throws synchronously is a rejected promise and frees its slot', async () => {
  const limited = limitLookups(
    () => {
      throw Object.assign(new Error('boom'), { code: 'EAI_FAIL' });
    },
    1,
    1,
  );
  await assert.rejects(limited('x.example', 0), /boom/);
  assert.equal(limited.inFlight(), 0);
});
