// The sip-events node in a Node-RED runtime: every transition is one message (a burst of 3,000 included), commands
// answer on output 2 (drain/disable/enable, reset, state, metrics as Prometheus text that a strict parser reads),
// bad commands answer EINVALIDMSG, and nothing is sent after close (its listener is gone too).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collector, helper, NODES, type Flow, type HelperMsg } from './helper';
import type { ResolverConfigNode } from '../../src/nodes/resolver-lookup';
import { parseExposition } from '../metrics/exposition';
import type { SipLocator } from '../../src/core/locator';
import { freePort } from '../servers/ports';
import { until } from '../support/wait';
import { MAX_QUEUED_EVENTS } from '../../src/nodes/event-payload';

const ALL = [...NODES, require('../../src/nodes/sip-events')];
const STATIC = [
  '_sip._udp.trunk.test. 60 IN SRV 10 1 5060 a.trunk.test.',
  '_sip._udp.trunk.test. 60 IN SRV 20 1 5060 b.trunk.test.',
  'a.trunk.test. 60 IN A 127.0.0.11',
  'b.trunk.test. 60 IN A 127.0.0.12',
  'trunk.test. 60 IN NAPTR 10 10 "S" "SIP+D2U" "" _sip._udp.trunk.test.',
].join('\n');
// Each test has its own resolver id: a locator outlives an unload for a redeploy grace period.
const flow = (id = 'r1'): Flow => [
  { id, type: 'sip-resolver', nameservers: '127.0.0.1:9', transports: 'udp', sticky: true, staticRecords: STATIC },
  { id: 'ev', type: 'sip-events', resolver: id, wires: [['out'], ['ans']] },
  { id: 'out', type: 'helper' },
  { id: 'ans', type: 'helper' },
];
const locatorOf = (id = 'r1'): SipLocator => (helper.getNode(id) as ResolverConfigNode).locator as SipLocator;
const target = (last: number): Record<string, unknown> => ({
  transport: 'udp',
  address: `127.0.0.${last}`,
  port: 5060,
});

describe('sip-events node', () => {
  afterEach(async () => helper.unload());

  test('every transition is one message, in order, with topic and payload as the issue gives them (a burst of 3,000 too)', async () => {
    await helper.load(ALL, flow());
    const out = collector(['out']);
    const l = locatorOf();
    const r = await l.locate('sip:trunk.test');
    l.markFailed(r.targets[0]!, { reason: 'timeout' });
    await out.until(3); // pin, mark, unpin
    const msgs = out.byOutput.out as Array<{ topic: string; payload: Record<string, unknown> }>;
    assert.deepEqual(
      msgs.map((m) => m.topic),
      ['sip-resolver/pin', 'sip-resolver/mark', 'sip-resolver/unpin'],
    );
    assert.deepEqual(msgs[1]!.payload.target, target(11));
    assert.equal(msgs[1]!.payload.state, 'grey');
    assert.equal(msgs[1]!.payload.resolver, 'r1');
    assert.equal(typeof msgs[1]!.payload.expiresAt, 'number');
    assert.equal(msgs[0]!.payload.destination, r.destination);
    for (let i = 0; i < 3000; i++)
      l.markFailed({ transport: 'udp', address: `10.1.${i >> 8}.${i & 255}`, port: 5060 }, { reason: 'transport' });
    await out.until(3003);
    assert.equal(out.total(), 3003);
    const burst = msgs.slice(3);
    assert.ok(
      burst.every(
        (m, i) =>
          m.topic === 'sip-resolver/mark' &&
          (m.payload.target as { address: string }).address === `10.1.${i >> 8}.${i & 255}`,
      ),
    );
  });

  test('commands answer on output 2: drain/disable/enable (events too), state, reset, metrics; a bad one answers EINVALIDMSG', async () => {
    await helper.load(ALL, flow('r2'));
    const out = collector(['out']);
    const ans = collector(['ans']);
    const ev = helper.getNode('ev');
    ev.receive({ payload: { command: 'drain', target: target(11), seconds: 60 } });
    ev.receive({ topic: 'disable', payload: { target: target(12) } });
    await ans.until(2);
    await out.until(2);
    const answers = ans.byOutput.ans as Array<{ payload: HelperMsg; metrics?: HelperMsg; headers?: HelperMsg }>;
    assert.equal(answers[0]!.payload.ok, true);
    assert.equal(answers[0]!.payload.target.state, 'drain');
    assert.deepEqual(
      (out.byOutput.out as Array<{ topic: string }>).map((m) => m.topic),
      ['sip-resolver/drain', 'sip-resolver/disable'],
    );
    ev.receive({ payload: { command: 'state' } });
    await ans.until(3);
    const state = answers[2]!.payload;
    assert.deepEqual(
      state.admin.map((a: { address: string; state: string }) => [a.address, a.state]),
      [
        ['127.0.0.11', 'drain'],
        ['127.0.0.12', 'disable'],
      ],
    );
    assert.deepEqual(Object.keys(state).sort(), ['admin', 'health', 'marks', 'nameservers', 'pins', 'store']);
    assert.equal(state.nameservers[0].address, '127.0.0.1:9');
    const r = await locatorOf('r2').locate('sip:trunk.test');
    assert.deepEqual(
      r.targets.map((x) => x.address),
      ['127.0.0.11'],
      'disabled .12 is skipped; drained .11 is the only one left',
    );
    assert.equal(r.sticky, false, 'a drained target gets no pin');
    ev.receive({ payload: { command: 'enable', target: target(12) } });
    ev.receive({ payload: { command: 'metrics' } });
    await ans.until(5);
    const metrics = answers[4]!;
    const families = parseExposition(metrics.payload);
    assert.deepEqual(
      families.get('sip_locate_locates_total')?.samples.map((s) => [s.labels.result, s.value]),
      [['ok', 1]],
    );
    assert.deepEqual(
      families
        .get('sip_locate_targets')
        ?.samples.filter((s) => s.value > 0)
        .map((s) => s.labels.state),
      ['drain'],
    );
    assert.equal(families.get('sip_locate_events_total')?.samples.find((s) => s.labels.op === 'enable')?.value, 1);
    assert.equal(families.get('sip_locate_probe_rtt_seconds')?.type, 'histogram');
    assert.ok(
      Array.isArray(metrics.metrics) &&
        metrics.metrics.some((m: { name: string }) => m.name === 'sip_locate_plan_cache_misses_total'),
    );
    assert.match(metrics.headers['content-type'], /^text\/plain/);
    ev.receive({ payload: { command: 'reboot' } });
    ev.receive({
      payload: { command: 'drain', target: { transport: 'udp', address: 'evil.test\r\nX: 1', port: 5060 } },
    });
    ev.receive({ payload: { command: 'reset' } });
    await ans.until(8);
    assert.deepEqual(
      answers.slice(5).map((a) => (a.payload.ok ? 'ok' : a.payload.error.code)),
      ['EINVALIDMSG', 'EINVALIDMSG', 'ok'],
    );
    assert.deepEqual(locatorOf('r2').state(), { marks: [], pins: [] });
    assert.equal(ans.seen.size, 8, 'each answer is its own message');
  });

  test('nothing is sent after close, and the node stops listening', async () => {
    await helper.load(ALL, flow('r3'));
    const l = locatorOf('r3');
    const node = helper.getNode('ev');
    let sends = 0;
    const original = node.send.bind(node);
    node.send = (msg) => {
      sends++;
      original(msg);
    };
    const listeners = l.events.size;
    for (let i = 0; i < 100; i++)
      l.markFailed({ transport: 'udp', address: `10.2.0.${i}`, port: 5060 }, { reason: 'timeout' });
    await node.close(false); // before the queued events' turn comes
    assert.equal(l.events.size, listeners - 1);
    l.markFailed({ transport: 'udp', address: '10.3.0.1', port: 5060 }, { reason: 'timeout' });
    await new Promise((resolve) => setImmediate(resolve)); // the turn the queued events would have been sent in
    assert.equal(sends, 0);
  });

  test('a state store that cannot be reached is a store-down event', async () => {
    const port = await freePort('127.0.0.1'); // nothing listens there
    await helper.load(ALL, [
      {
        id: 'r4',
        type: 'sip-resolver',
        nameservers: '127.0.0.1:9',
        transports: 'udp',
        store: 'redis',
        redisUrl: `redis://127.0.0.1:${port}/0`,
      },
      { id: 'ev', type: 'sip-events', resolver: 'r4', wires: [['out'], ['ans']] },
      { id: 'out', type: 'helper' },
      { id: 'ans', type: 'helper' },
    ] as Flow);
    const out = collector(['out']);
    await out.until(1);
    const first = (out.byOutput.out as Array<{ topic: string; payload: Record<string, unknown> }>)[0]!;
    assert.equal(first.topic, 'sip-resolver/store-down');
    assert.equal(first.payload.state, 'down');
    assert.match(String(first.payload.reason), /^ESTORE/);
  });

  test(`at most ${MAX_QUEUED_EVENTS} events wait: a larger burst in one turn sends that many and counts the rest as dropped`, async () => {
    await helper.load(ALL, flow('r5'));
    const out = collector(['out']);
    const node = helper.getNode('ev');
    const statuses: Array<{ fill?: string; text?: string }> = [];
    const original = node.status.bind(node);
    node.status = (st) => {
      if (typeof st !== 'string') statuses.push(st);
      original(st);
    };
    const l = locatorOf('r5');
    for (let i = 0; i < MAX_QUEUED_EVENTS + 2000; i++)
      l.markFailed({ transport: 'udp', address: `10.4.${i >> 8}.${i & 255}`, port: 5060 }, { reason: 'transport' });
    await out.until(MAX_QUEUED_EVENTS);
    await until(() => statuses.some((st) => st.fill === 'yellow'), 'a status that counts the drops');
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(out.total(), MAX_QUEUED_EVENTS, 'the ones beyond the bound were dropped, not sent later');
    assert.equal(
      statuses.filter((st) => st.fill === 'yellow').at(-1)?.text,
      'sip-events.status.dropped',
      'the drop status (the test runtime has no catalog, so the key)',
    );
  });
});
