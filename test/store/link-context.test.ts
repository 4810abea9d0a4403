// The store link and the context store without a network: a Map stands in for a Node-RED context, and a store
// that fails on demand stands in for an unreachable one (what a real context store will not do on request).
import { withAddressing } from '../../src/core/target';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import type { LocatorState, StateChange, Target } from '../../src/core/types';
import { SipLocateError } from '../../src/core/errors';
import { createContextStore, CONTEXT_KEY, type ContextLike } from '../../src/store/context';
import { linkStore } from '../../src/store/link';
import { readChange, readPin } from '../../src/store/records';
import type { StateStore, StoreEvents, WriteOutcome } from '../../src/store/types';
import { until } from '../support/wait';

const T = (n: number): Target =>
  withAddressing({
    transport: 'udp',
    address: `127.0.0.${n}`,
    port: 5060,
    family: 4,
    host: `h${n}.test`,
    source: 'srv',
    ttl: 60,
  });
const DEST = 'sip:pbx.test;udp';

/** A Map-backed context with the callback API of Node-RED's; `fail` makes every call fail. */
function mapContext(): ContextLike & { data: Map<string, unknown>; fail: boolean; sets: number } {
  const data = new Map<string, unknown>();
  const ctx = {
    data,
    fail: false,
    sets: 0,
    get(key: string, _store: string | undefined, cb: (err: Error | null | undefined, value?: unknown) => void) {
      setImmediate(() => (ctx.fail ? cb(new Error('disk gone')) : cb(null, structuredClone(data.get(key)))));
    },
    set(key: string, value: unknown, _store: string | undefined, cb: (err?: Error | null) => void) {
      setImmediate(() => {
        if (ctx.fail) return cb(new Error('disk gone'));
        ctx.sets++;
        data.set(key, JSON.parse(JSON.stringify(value)));
        cb(null);
      });
    },
  };
  return ctx;
}

describe('locator change events and apply()', () => {
  test('each local change is reported once; applied changes are not reported', async () => {
    let now = 1_000_000;
    const l = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true, clock: { now: () => now }, pinSeconds: 100 });
    const seen: StateChange[] = [];
    const stop = l.onChange((c) => seen.push(c));
    l.markSucceeded(T(1), DEST);
    l.markSucceeded(T(1), DEST); // same pin, fresh: nothing to report
    l.markFailed(T(1), { reason: 'timeout' });
    l.markSucceeded(T(1));
    assert.deepEqual(
      seen.map((c) => c.op),
      ['pin', 'mark', 'unpin', 'unmark'],
    );
    now += 60_000; // past half the pin lifetime: a use renews
    l.markSucceeded(T(2), DEST);
    l.markSucceeded(T(2), DEST);
    now += 51_000;
    l.markSucceeded(T(2), DEST);
    assert.deepEqual(
      seen.slice(4).map((c) => c.op === 'pin' && c.pin.expiresAt),
      [now - 51_000 + 100_000, now + 100_000],
    );
    const before = seen.length;
    l.apply({
      op: 'mark',
      mark: { transport: 'udp', address: '127.0.0.2', port: 5060, mark: 'black', expiresAt: now + 60_000 },
    });
    assert.equal(l.state().pins.length, 0, 'a mark from elsewhere unpins the target here');
    l.apply({ op: 'pin', pin: { destination: DEST, target: T(3), pinnedAt: now, expiresAt: now + 10_000 } });
    l.apply({ op: 'pin', pin: { destination: 'x', target: T(3), pinnedAt: now, expiresAt: now - 1 } });
    assert.deepEqual(
      l.state().pins.map((p) => p.target.address),
      ['127.0.0.3'],
      'expired pins are not taken',
    );
    l.apply({ op: 'unpin', destination: DEST, target: T(4) });
    assert.equal(l.state().pins.length, 1, 'unpin only when it points at that target');
    l.apply({ op: 'expired', destination: DEST });
    assert.equal(l.state().pins.length, 1, 'a store expiry far ahead of our clock is ignored');
    now += 8_500;
    l.apply({ op: 'expired', destination: DEST });
    assert.equal(l.state().pins.length, 0, 'within the skew allowance it is dropped');
    l.apply({
      op: 'mark',
      mark: { transport: 'udp', address: '127.0.0.2', port: 5060, mark: 'grey', expiresAt: now + 99_000 },
    });
    assert.equal(l.state().marks[0]!.mark, 'black', 'a black mark is not weakened by a grey one from elsewhere');
    l.apply({ op: 'reset' });
    assert.deepEqual(l.state(), { marks: [], pins: [] });
    assert.equal(seen.length, before, 'nothing applied was reported');
    stop();
    l.resetState();
    assert.equal(seen.length, before);
    l.close();
  });

  test('records from outside are checked field by field', () => {
    assert.equal(
      readChange({
        op: 'mark',
        mark: { transport: 'udp', address: '10.0.0.1', port: 5060, mark: 'red', expiresAt: 1 },
      }),
      undefined,
    );
    assert.equal(
      readChange({
        op: 'pin',
        pin: {
          destination: 'd',
          target: { transport: 'udp', address: '10.0.0.1', port: 0 },
          pinnedAt: 1,
          expiresAt: 2,
        },
      }),
      undefined,
    );
    assert.equal(
      readChange({ op: 'unpin', destination: '', target: { transport: 'udp', address: '10.0.0.1', port: 1 } }),
      undefined,
    );
    assert.equal(readChange({ op: 'drop-tables' }), undefined);
    assert.equal(readChange('reset'), undefined);
    assert.deepEqual(readChange({ op: 'reset', extra: 1 }), { op: 'reset' });
    const pin = readPin({
      destination: 'd',
      target: { transport: 'tcp', address: '::1', port: 5060, host: 'x'.repeat(300) },
      pinnedAt: 1,
      expiresAt: 2,
    });
    assert.deepEqual(pin?.target, {
      transport: 'tcp',
      address: '::1',
      port: 5060,
      family: 6,
      host: '::1',
      source: 'address',
      ttl: 0,
      uri: 'sip:[::1]:5060;transport=tcp',
      key: 'tcp:[::1]:5060',
    });
    const rebased = readChange(
      { op: 'mark', mark: { transport: 'udp', address: '10.0.0.1', port: 5060, mark: 'grey', expiresAt: 5 } },
      1000,
      250,
    );
    assert.equal(rebased?.op === 'mark' && rebased.mark.expiresAt, 1250, "expiry rebased on this host's clock");
  });
});

describe('context store', () => {
  test('saves marks and pins to one key, coalescing bursts, and reads them back into a new locator', async () => {
    const ctx = mapContext();
    const l1 = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link1 = linkStore(l1, createContextStore(ctx, { snapshot: () => l1.state(), coalesceMs: 20 }));
    await until(() => link1.status().state === 'up', 'link up');
    const setsBefore = ctx.sets;
    for (let i = 1; i <= 50; i++) l1.markSucceeded(T(1), `sip:d${i}.test;udp`);
    l1.markFailed(T(2), { reason: '503', retryAfter: 60 });
    await until(
      () =>
        (ctx.data.get(CONTEXT_KEY) as LocatorState | undefined)?.pins.length === 50 && link1.status().written === 51,
      'saved',
    );
    assert.ok(ctx.sets - setsBefore <= 3, `51 changes saved in ${ctx.sets - setsBefore} writes`);
    await link1.close();
    l1.close();

    const l2 = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link2 = linkStore(l2, createContextStore(ctx, { snapshot: () => l2.state() }));
    await until(() => link2.status().state === 'up', 'link 2 up');
    assert.equal(l2.state().pins.length, 50);
    assert.deepEqual(
      l2.state().marks.map((m) => `${m.address} ${m.mark}`),
      ['127.0.0.2 black'],
    );
    await link2.close();
    l2.close();
  });

  test('100,000 pins at once: a handful of saves, every pin saved, nothing failed, the queue stays bounded', async () => {
    const ctx = mapContext();
    const l = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(l, createContextStore(ctx, { snapshot: () => l.state(), coalesceMs: 20 }), {
      maxPending: 10_000,
    });
    await until(() => link.status().state === 'up', 'link up');
    const setsBefore = ctx.sets;
    for (let i = 0; i < 100_000; i++) l.markSucceeded(T(1 + (i % 4)), `sip:+4930${i}@ctx.test;udp`);
    assert.ok(link.status().pending <= 10_000, `bounded queue (${link.status().pending})`);
    await link.flush();
    assert.equal((ctx.data.get(CONTEXT_KEY) as LocatorState).pins.length, 100_000);
    assert.deepEqual([link.status().state, link.status().failed, link.status().pending], ['up', 0, 0]);
    assert.ok(ctx.sets - setsBefore <= 4, `100,000 changes saved in ${ctx.sets - setsBefore} writes`);
    await link.close();
    l.close();
  });

  test('a context store that fails: work goes on from memory, status says down, and it catches up when it works again', async () => {
    const ctx = mapContext();
    const l = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(l, createContextStore(ctx, { snapshot: () => l.state(), coalesceMs: 5 }));
    const states: string[] = [];
    link.onStatus((s) => states.push(s.state));
    await until(() => link.status().state === 'up', 'up');
    ctx.fail = true;
    l.markSucceeded(T(1), DEST);
    await until(() => link.status().state === 'down', 'down');
    assert.equal(link.status().error?.code, 'ESTOREDOWN');
    assert.equal(l.state().pins.length, 1, 'memory keeps it');
    l.markFailed(T(1), { reason: 'transport' });
    ctx.fail = false;
    await until(() => link.status().state === 'up', 'back up (retried)');
    await until(() => {
      const saved = ctx.data.get(CONTEXT_KEY) as LocatorState | undefined;
      return !!saved && saved.pins.length === 0 && saved.marks.length === 1;
    }, 'caught up');
    assert.deepEqual(states, ['up', 'down', 'up']);
    await link.close();
    l.close();
  });

  test('a context key holding something else is reported and replaced, not trusted', async () => {
    const ctx = mapContext();
    ctx.data.set(CONTEXT_KEY, { v: 1, marks: [{ address: 'nope' }], pins: 'x' });
    const l = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(l, createContextStore(ctx, { snapshot: () => l.state(), coalesceMs: 5 }));
    await until(() => link.status().state === 'up', 'up');
    assert.equal(link.status().invalid, 1);
    assert.deepEqual(l.state(), { marks: [], pins: [] });
    await link.close();
    l.close();
  });
});

describe('store link', () => {
  test('deletions made while the store is away are replayed before memory is written back', async () => {
    const log: string[] = [];
    let events: StoreEvents | undefined;
    let up = false;
    const store: StateStore = {
      kind: 'redis',
      start(e) {
        events = e;
      },
      async load() {
        if (!up) throw new SipLocateError('ESTOREDOWN', 'away');
      },
      async write(changes): Promise<WriteOutcome[]> {
        if (!up) throw new SipLocateError('ESTOREDOWN', 'away');
        for (const change of changes)
          log.push(
            change.op === 'pin'
              ? `pin ${change.pin.target.address}`
              : change.op === 'unpin'
                ? `unpin ${change.target.address}`
                : change.op,
          );
        return changes.map(() => ({}));
      },
      async flush() {},
      async close() {},
    };
    const l = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(l, store);
    up = true;
    events!.up();
    await until(() => link.status().state === 'up', 'up');
    l.markSucceeded(T(1), DEST);
    up = false;
    events!.down(new SipLocateError('ESTOREDOWN', 'gone'));
    l.markFailed(T(1), { reason: 'timeout' });
    l.markSucceeded(T(2), DEST);
    assert.equal(link.status().pending, 1, 'one deletion (the unpin) waits');
    await until(() => log.length >= 1, 'the pin written while up');
    log.length = 0;
    up = true;
    events!.up();
    await until(() => link.status().state === 'up' && log.length === 3, 'caught up');
    assert.deepEqual(log, ['unpin 127.0.0.1', 'mark', 'pin 127.0.0.2']);
    assert.equal(link.status().pending, 0);
    await link.close();
    l.close();
  });
});
