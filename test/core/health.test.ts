// Health state per target, and how the locator uses it: down targets skipped like black marks, one event per
// transition, a success clears a grey mark, failback moves a pin to a better target that is up again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Health, MAX_HEALTH } from '../../src/core/failover/health';
import { createLocator } from '../../src/core/locator';
import type { ResolverEvent } from '../../src/core/events';
import type { TargetKey } from '../../src/core/types';

const A: TargetKey = { transport: 'udp', address: '127.0.0.1', port: 5061 };
const B: TargetKey = { transport: 'udp', address: '127.0.0.1', port: 5062 };
const STATIC = [
  '_sip._udp.pool.test. 60 IN SRV 10 0 5061 a.pool.test.',
  '_sip._udp.pool.test. 60 IN SRV 20 0 5062 b.pool.test.',
  'a.pool.test. 60 IN A 127.0.0.1',
  'b.pool.test. 60 IN A 127.0.0.1',
];
const URI = 'sip:pool.test;transport=udp';

test('health: down after downAfter failures, up after upAfter successes, each change reported once; stale is unknown', () => {
  let now = 1000;
  const h = new Health({ now: () => now });
  h.configure({ downAfter: 2, upAfter: 3, staleMs: 10_000 });
  assert.equal(h.state(A), 'unknown');
  assert.equal(h.record(A, { alive: false, error: 'refused' }), undefined);
  now += 500;
  assert.equal(h.record(A, { alive: false, error: 'refused' }), 'down');
  assert.equal(h.record(A, { alive: false, error: 'refused' }), undefined, 'no second down');
  assert.equal(h.record(A, { alive: true, code: 200, rttMs: 1.234 }), undefined);
  assert.equal(h.record(A, { alive: true, code: 200 }), undefined);
  now += 500;
  assert.equal(h.record(A, { alive: true, code: 200, host: 'a.pool.test' }), 'up');
  assert.deepEqual(h.list(), [{ ...A, host: 'a.pool.test', state: 'up', since: 2000, rttMs: 1.2, lastCode: 200 }]);
  now += 10_001;
  assert.equal(h.state(A), 'unknown', 'not probed for staleMs: no longer believed');
  assert.throws(() => h.configure({ downAfter: 0 }), { code: 'EINVALIDOPTION' });
});

test(`health keeps at most ${MAX_HEALTH} targets, the least recently probed dropped first`, () => {
  const h = new Health({ now: () => 1 });
  for (let i = 0; i <= MAX_HEALTH; i++)
    h.record({ transport: 'udp', address: '127.0.0.1', port: 1 + i }, { alive: true });
  assert.equal(h.size, MAX_HEALTH);
  assert.equal(
    h.list().some((r) => r.port === 1),
    false,
    'the first one went',
  );
});

test('locator: a down target is listed after the others and is not pinned; failover skips it; one event per change', async () => {
  const now = 5000;
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: STATIC,
    sticky: true,
    clock: { now: () => now },
  });
  const events: ResolverEvent[] = [];
  l.events.on((e) => events.push(e));
  const first = await l.locate(URI);
  assert.deepEqual(
    first.targets.map((t) => t.port),
    [5061, 5062],
  );
  for (let i = 0; i < 3; i++) l.probed(A, { alive: false, error: 'ECONNREFUSED' });
  const after = await l.locate(URI);
  assert.deepEqual(
    after.targets.map((t) => t.port),
    [5062, 5061],
    'the down target goes last',
  );
  assert.equal(l.pinnedTarget(first.destination)?.port, 5062);
  const ops = events.map((e) => `${e.op}:${e.target?.port ?? ''}`);
  assert.deepEqual(ops, ['pin:5061', 'down:5061', 'unpin:5061', 'pin:5062']);
  assert.equal(events[1]!.reason, 'ECONNREFUSED');
  // failover from B: A is down, so nothing better is left but A itself (like a black mark, it is the last resort)
  assert.equal(
    l.failover({ destination: after.destination, targets: after.targets, tried: [] }, { reason: 'timeout' })?.port,
    5062,
  );
  l.close();
});

test('locator: a probe success clears a grey mark (an unmark event), not a black one', async () => {
  const l = createLocator({ nameservers: ['127.0.0.1:9'], staticRecords: STATIC });
  const events: string[] = [];
  l.events.on((e) => events.push(e.op));
  l.markFailed(A, { reason: 'timeout' });
  l.markFailed(B, { reason: '503', retryAfter: 60 });
  l.probed(A, { alive: true, code: 200 });
  l.probed(B, { alive: true, code: 200 });
  assert.deepEqual(
    l.state().marks.map((m) => [m.port, m.mark]),
    [[5062, 'black']],
  );
  assert.deepEqual(events, ['mark', 'mark', 'unmark']);
  l.close();
});

test('failback: the pin moves back to the better target once it is up, with one failback event; sticky keeps it', async () => {
  for (const pinPolicy of ['failback', 'sticky'] as const) {
    const l = createLocator({ nameservers: ['127.0.0.1:9'], staticRecords: STATIC, sticky: true, pinPolicy });
    l.health.configure({ downAfter: 1, upAfter: 2 });
    const events: ResolverEvent[] = [];
    l.events.on((e) => events.push(e));
    l.probed(A, { alive: false, error: 'timeout' });
    assert.equal((await l.locate(URI)).targets[0]!.port, 5062, 'pinned to the backup while A is down');
    l.probed(A, { alive: true, code: 200 });
    assert.equal((await l.locate(URI)).targets[0]!.port, 5062, 'one success is not enough (upAfter 2)');
    l.probed(A, { alive: true, code: 200 });
    const back = await l.locate(URI);
    const failbacks = events.filter((e) => e.op === 'failback');
    if (pinPolicy === 'failback') {
      assert.equal(back.targets[0]!.port, 5061);
      assert.equal(back.sticky, true);
      assert.equal(failbacks.length, 1);
      assert.deepEqual(
        [failbacks[0]!.target?.port, failbacks[0]!.destination, failbacks[0]!.reason],
        [5061, back.destination, 'from udp 127.0.0.1:5062'],
      );
      assert.equal((await l.locate(URI)).targets[0]!.port, 5061, 'and stays there');
      assert.equal(events.filter((e) => e.op === 'failback').length, 1);
    } else {
      assert.equal(back.targets[0]!.port, 5062, 'sticky: the pin stays');
      assert.equal(failbacks.length, 0);
    }
    l.close();
  }
  assert.throws(() => createLocator({ nameservers: ['127.0.0.1:9'], pinPolicy: 'back' as 'sticky' }), {
    code: 'EINVALIDOPTION',
  });
});
