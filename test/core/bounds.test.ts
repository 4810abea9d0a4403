// Bounds on marks and pins, the expiry sweep and the cost of markFailed, with a controllable clock. Numeric URIs need
// no DNS, so no nameserver is asked (the one configured does not exist).
import { afterEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type CreateLocatorOptions, type SipLocator } from '../../src/core/locator';
import type { StateChange, Target, TargetKey } from '../../src/core/types';
import { withAddressing } from '../../src/core/target';

/** The i-th numeric destination and its (only) target. */
const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const dest = (i: number): string => `sip:${ip(i)}:5060`;
const target = (i: number): Target =>
  withAddressing({ transport: 'udp', address: ip(i), port: 5060, family: 4, host: ip(i), source: 'numeric', ttl: 0 });
const key = (i: number): TargetKey => ({ transport: 'udp', address: ip(i), port: 5060 });

describe('bounds on marks and pins', () => {
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  let open: SipLocator[] = [];
  const make = (o: CreateLocatorOptions = {}): SipLocator => {
    const l = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true, clock, ...o });
    open.push(l);
    return l;
  };
  afterEach(() => {
    for (const l of open) l.close();
    open = [];
    mock.timers.reset();
  });

  test('maxPins: at the bound the least recently used pin is dropped and reported as expired', async () => {
    const l = make({ maxPins: 3 });
    const seen: StateChange[] = [];
    l.onChange((c) => seen.push(c));
    for (const i of [1, 2, 3]) await l.locate(dest(i));
    now += 1000;
    await l.locate(dest(1)); // a use: 2 is now the least recently used
    await l.locate(dest(4));
    assert.deepEqual(
      l
        .state()
        .pins.map((p) => p.destination)
        .sort(),
      [dest(1), dest(3), dest(4)],
    );
    assert.deepEqual(
      seen.filter((c) => c.op !== 'pin'),
      [{ op: 'expired', destination: dest(2) }],
    );
    l.markSucceeded(key(3), dest(3)); // also a use
    await l.locate(dest(5));
    assert.deepEqual(
      l
        .state()
        .pins.map((p) => p.destination)
        .sort(),
      [dest(3), dest(4), dest(5)],
    );
    assert.equal(seen.filter((c) => c.op === 'expired').length, 2);
    const before = seen.length;
    l.apply({ op: 'pin', pin: { destination: dest(6), target: target(6), pinnedAt: now, expiresAt: now + 60_000 } });
    assert.equal(seen.length, before, 'what a change from elsewhere evicts is not reported back');
    assert.equal(l.held().pins, 3);
  });

  test('maxPins holds at its default of 100,000', () => {
    const l = make();
    const seen: StateChange[] = [];
    l.onChange((c) => seen.push(c));
    for (let i = 0; i <= 100_000; i++) l.markSucceeded(key(i), dest(i));
    assert.equal(l.held().pins, 100_000);
    assert.equal(l.pinnedTarget(dest(0)), undefined, 'the first pin, used least recently, is gone');
    assert.equal(l.pinnedTarget(dest(100_000))?.address, ip(100_000));
    assert.deepEqual(
      seen.filter((c) => c.op === 'expired'),
      [{ op: 'expired', destination: dest(0) }],
    );
  });

  test('maxMarks: at the bound the mark that expires first is dropped, never the new one', () => {
    const l = make({ maxMarks: 3 });
    const seen: StateChange[] = [];
    l.onChange((c) => seen.push(c));
    l.markFailed(key(1), { reason: '503', retryAfter: 300 });
    l.markFailed(key(2), { reason: 'timeout' }); // grey, 32 s: expires first
    l.markFailed(key(3), { reason: '503', retryAfter: 600 });
    l.markFailed(key(4), { reason: '503', retryAfter: 900 });
    assert.deepEqual(
      l
        .state()
        .marks.map((m) => m.address)
        .sort(),
      [ip(1), ip(3), ip(4)],
    );
    l.markFailed(key(5), { reason: 'timeout' }); // expires before all others, still kept: the soonest of the others goes
    assert.deepEqual(
      l
        .state()
        .marks.map((m) => m.address)
        .sort(),
      [ip(3), ip(4), ip(5)],
    );
    assert.deepEqual(
      seen.filter((c) => c.op === 'expired'),
      [
        { op: 'expired', mark: key(2) },
        { op: 'expired', mark: key(1) },
      ],
    );
  });

  test('maxMarks holds at its default of 100,000', () => {
    const l = make();
    for (let i = 0; i <= 100_000; i++) {
      now += 1; // each mark expires 1 ms after the one before
      l.markFailed(key(i), { reason: '503', retryAfter: 3600 });
    }
    assert.equal(l.held().marks, 100_000);
    const marks = new Set(l.state().marks.map((m) => m.address));
    assert.equal(marks.size, 100_000);
    assert.ok(
      !marks.has(ip(0)) && marks.has(ip(1)) && marks.has(ip(100_000)),
      'only the first mark, the soonest to expire, went',
    );
  });

  test('a sweep frees 100,000 expired pins and 100,000 expired marks within 10 s, without a read', () => {
    mock.timers.enable({ apis: ['setInterval', 'setImmediate'] });
    const l = make({ pinSeconds: 60, greylistSeconds: 30 });
    for (let i = 0; i < 100_000; i++) {
      l.markSucceeded(key(i), dest(i));
      l.markFailed(key(1_000_000 + i), { reason: 'timeout' });
    }
    assert.deepEqual(l.held(), { marks: 100_000, pins: 100_000 });
    now += 30_000;
    mock.timers.tick(10_000);
    assert.deepEqual(l.held(), { marks: 0, pins: 100_000 }, 'marks went; pins have 30 s left');
    now += 30_000;
    mock.timers.tick(10_000);
    assert.deepEqual(l.held(), { marks: 0, pins: 0 });
    l.close();
    now += 1;
    mock.timers.tick(60_000); // nothing left to run after close
  });

  test("markFailed with 100,000 pins unpins only that target's pins and walks nothing larger", () => {
    const l = make();
    // Four destinations share the target udp 192.0.2.1:5060; a fifth uses the same address over TCP.
    const shared = [
      'sip:192.0.2.1',
      'sip:192.0.2.1:5060',
      'sip:192.0.2.1;transport=udp',
      'sip:192.0.2.1:5060;transport=udp',
    ];
    const sharedKey: TargetKey = { transport: 'udp', address: '192.0.2.1', port: 5060 };
    for (let i = 0; i < 99_995; i++) l.markSucceeded(key(i), dest(i));
    for (const d of shared) l.markSucceeded(sharedKey, d);
    l.markSucceeded({ transport: 'tcp', address: '192.0.2.1', port: 5060 }, 'sip:192.0.2.1;transport=tcp');
    assert.equal(l.held().pins, 100_000);
    const before = new Map(l.state().pins.map((p) => [p.destination, p.expiresAt]));
    const seen: StateChange[] = [];
    l.onChange((c) => seen.push(c));
    // Every Map or Set iterated during markFailed, by size: the old code walked all pins.
    const walked: number[] = [];
    const restore: Array<() => void> = [];
    for (const proto of [Map.prototype, Set.prototype] as object[]) {
      for (const name of ['forEach', 'entries', 'values', 'keys', Symbol.iterator] as PropertyKey[]) {
        const original: unknown = Reflect.get(proto, name);
        if (typeof original !== 'function') continue;
        Reflect.set(proto, name, function (this: { size: number }, ...args: unknown[]): unknown {
          walked.push(this.size);
          return Reflect.apply(original, this, args);
        });
        restore.push(() => Reflect.set(proto, name, original));
      }
    }
    try {
      l.markFailed(sharedKey, { reason: 'transport' });
    } finally {
      for (const r of restore) r();
    }
    assert.ok(
      walked.every((n) => n <= shared.length),
      `markFailed iterated collections of sizes ${walked.join(', ')}`,
    );
    assert.deepEqual(
      seen.map((c) => c.op),
      ['mark', 'unpin', 'unpin', 'unpin', 'unpin'],
    );
    assert.deepEqual(seen.flatMap((c) => (c.op === 'unpin' ? [c.destination] : [])).sort(), [...shared].sort());
    const after = l.state().pins;
    assert.equal(after.length, 99_996);
    assert.ok(
      after.every((p) => before.get(p.destination) === p.expiresAt),
      'other pins are untouched',
    );
    assert.equal(
      l.pinnedTarget('sip:192.0.2.1;transport=tcp')?.transport,
      'tcp',
      'the same address over TCP stays pinned',
    );
  });

  test('maxPins and maxMarks are checked', () => {
    assert.throws(() => createLocator({ nameservers: ['127.0.0.1:9'], maxPins: 0 }), { code: 'EINVALIDOPTION' });
    assert.throws(() => createLocator({ nameservers: ['127.0.0.1:9'], maxMarks: Number.NaN }), {
      code: 'EINVALIDOPTION',
    });
  });
});
