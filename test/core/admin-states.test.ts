// Operator states in the core: drain lists a target after healthy ones and gives it no new pins, disable skips it
// while others remain, enable clears both, seconds expire; every change is an event and a store change; bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import { AdminStates } from '../../src/core/failover/admin';
import type { ResolverEvent } from '../../src/core/events';
import type { StateChange, TargetKey } from '../../src/core/types';
import { SipLocateError } from '../../src/core/errors';

// Three static SRV targets of equal weight would be shuffled; priorities make the order fixed: .11, .12, .13.
const STATIC = [
  '_sip._udp.trunk.test. 60 IN SRV 10 1 5060 a.trunk.test.',
  '_sip._udp.trunk.test. 60 IN SRV 20 1 5060 b.trunk.test.',
  '_sip._udp.trunk.test. 60 IN SRV 30 1 5060 c.trunk.test.',
  'a.trunk.test. 60 IN A 127.0.0.11',
  'b.trunk.test. 60 IN A 127.0.0.12',
  'c.trunk.test. 60 IN A 127.0.0.13',
  'trunk.test. 60 IN NAPTR 10 10 "S" "SIP+D2U" "" _sip._udp.trunk.test.',
].join('\n');
const URI = 'sip:trunk.test';
const t = (last: number): TargetKey => ({ transport: 'udp', address: `127.0.0.${last}`, port: 5060 });

function locator(now: () => number, sticky = false) {
  return createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: STATIC,
    transports: ['udp'],
    sticky,
    clock: { now },
  });
}

const order = async (l: ReturnType<typeof locator>): Promise<string[]> =>
  (await l.locate(URI)).targets.map((x) => x.address);

test('drain lists a target after the healthy ones, disable leaves it out while others remain, enable restores the order', async () => {
  const now = 1_000_000;
  const l = locator(() => now);
  assert.deepEqual(await order(l), ['127.0.0.11', '127.0.0.12', '127.0.0.13']);
  l.setTargetState(t(11), 'drain');
  assert.deepEqual(await order(l), ['127.0.0.12', '127.0.0.13', '127.0.0.11']);
  // a grey mark goes behind a drained but healthy target
  l.markFailed(t(12), { reason: 'timeout' });
  assert.deepEqual(await order(l), ['127.0.0.13', '127.0.0.11', '127.0.0.12']);
  l.setTargetState(t(13), 'disable');
  assert.deepEqual(await order(l), ['127.0.0.11', '127.0.0.12']);
  l.setTargetState(t(11), 'disable');
  l.setTargetState(t(12), 'disable');
  assert.deepEqual(
    await order(l),
    ['127.0.0.11', '127.0.0.12', '127.0.0.13'],
    'all disabled: listed rather than nothing',
  );
  for (const n of [11, 12, 13]) l.setTargetState(t(n), 'enable');
  l.markSucceeded(t(12));
  assert.deepEqual(await order(l), ['127.0.0.11', '127.0.0.12', '127.0.0.13']);
  assert.deepEqual(l.adminStates(), []);
  l.close();
});

test('failover() moves to a healthy target before a drained one and to a disabled one last', async () => {
  const l = locator(() => 1_000_000);
  const r = await l.locate(URI);
  l.setTargetState(t(12), 'drain');
  l.setTargetState(t(13), 'disable');
  const state = { uri: URI, destination: r.destination, targets: r.targets, tried: [t(11)] };
  const next = l.failover(state, { reason: 'timeout' });
  assert.equal(next?.address, '127.0.0.12', 'the drained one: the only enabled target left');
  const last = l.failover({ ...state, tried: [t(11), t(12)] }, { reason: 'timeout' });
  assert.equal(last?.address, '127.0.0.13', 'the disabled one when nothing else is left');
  assert.equal(l.counters().failovers, 2);
  l.close();
});

test('a drained target keeps its pin but gets no new one; disable drops its pins', async () => {
  const now = 1_000_000;
  const l = locator(() => now, true);
  const first = await l.locate(URI);
  assert.equal(first.targets[0]!.address, '127.0.0.11');
  assert.equal(l.pinnedTarget(first.destination)?.address, '127.0.0.11');
  l.setTargetState(t(11), 'drain');
  const again = await l.locate(URI);
  assert.equal(again.targets[0]!.address, '127.0.0.11', 'the existing pin stays');
  assert.equal(again.sticky, true);
  l.markFailed(t(11), { reason: 'timeout' });
  const moved = await l.locate(URI);
  assert.equal(moved.targets[0]!.address, '127.0.0.12');
  assert.equal(l.pinnedTarget(first.destination)?.address, '127.0.0.12');
  l.markSucceeded(t(11), first.destination);
  assert.equal(l.pinnedTarget(first.destination)?.address, '127.0.0.12', 'a success of a drained target pins nothing');
  l.setTargetState(t(12), 'disable');
  assert.equal(l.pinnedTarget(first.destination), undefined, 'disable drops the pins on it');
  const other = await l.locate(URI);
  assert.equal(other.targets[0]!.address, '127.0.0.13');
  l.close();
});

test('operator changes are events and store changes; seconds expire; remote changes apply and are events but not store changes', async () => {
  let now = 1_000_000;
  const l = locator(() => now);
  const seen: ResolverEvent[] = [];
  const changes: StateChange[] = [];
  l.events.on((e) => seen.push(e));
  l.onChange((c) => changes.push(c));
  l.setTargetState(t(11), 'drain', 30);
  l.setTargetState(t(11), 'drain', 30); // the same again: no change
  l.setTargetState(t(12), 'disable');
  l.setTargetState(t(12), 'enable');
  l.setTargetState(t(13), 'enable'); // nothing to clear
  assert.deepEqual(
    seen.map((e) => [e.op, e.target?.address, e.state, e.expiresAt]),
    [
      ['drain', '127.0.0.11', 'drain', 1_030_000],
      ['disable', '127.0.0.12', 'disable', undefined],
      ['enable', '127.0.0.12', undefined, undefined],
    ],
  );
  assert.deepEqual(
    changes.map((c) => c.op === 'admin' && [c.admin.state, c.admin.address]),
    [
      ['drain', '127.0.0.11'],
      ['disable', '127.0.0.12'],
      ['enable', '127.0.0.12'],
    ],
  );
  assert.deepEqual(
    l.adminStates().map((a) => [a.address, a.state, a.expiresAt]),
    [['127.0.0.11', 'drain', 1_030_000]],
  );
  now += 30_000;
  assert.deepEqual(l.adminStates(), [], 'expired after its seconds');
  assert.deepEqual(await order(l), ['127.0.0.11', '127.0.0.12', '127.0.0.13']);
  l.apply({ op: 'admin', admin: { ...t(13), state: 'disable', since: now } });
  assert.deepEqual(await order(l), ['127.0.0.11', '127.0.0.12']);
  assert.equal(seen.at(-1)?.op, 'disable');
  assert.equal(
    changes.filter((c) => c.op !== 'plan').length,
    3,
    'a remote change is not written back (the locates save their plans)',
  );
  l.close();
});

test('bad requests are EINVALIDOPTION and change nothing', () => {
  const l = locator(() => 1);
  const bad: Array<[unknown, unknown, unknown]> = [
    [{ transport: 'udp', address: 'example.com', port: 5060 }, 'drain', undefined],
    [{ transport: 'udp', address: '127.0.0.1', port: 0 }, 'drain', undefined],
    [{ transport: 'smtp', address: '127.0.0.1', port: 25 }, 'drain', undefined],
    [t(11), 'maintenance', undefined],
    [t(11), 'drain', -1],
    [t(11), 'drain', Number.NaN],
    [t(11), 'drain', 31 * 86400],
    [undefined, 'drain', undefined],
  ];
  for (const [target, state, seconds] of bad) {
    assert.throws(
      () => l.setTargetState(target as TargetKey, state as 'drain', seconds as number),
      (e: unknown) => e instanceof SipLocateError && e.code === 'EINVALIDOPTION',
    );
  }
  assert.deepEqual(l.adminStates(), []);
  l.close();
});

test('AdminStates holds at most its bound: the oldest entry goes first', () => {
  const a = new AdminStates({ now: () => 0 }, 1000);
  for (let i = 0; i < 1500; i++)
    a.put({ transport: 'udp', address: `10.0.${i >> 8}.${i & 255}`, port: 5060, state: 'drain', since: 0 });
  assert.equal(a.size, 1000);
  assert.equal(a.get({ transport: 'udp', address: '10.0.0.0', port: 5060 }), undefined);
  assert.equal(a.get({ transport: 'udp', address: '10.0.5.219', port: 5060 })?.state, 'drain');
});
