// The three node types in a Node-RED runtime (node-red-node-test-helper), over real BIND.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { helper, NODES, nextMessage, type Flow, type HelperMsg } from './helper';
import type { ResolverConfigNode } from '../../src/nodes/resolver-lookup';
import { until } from '../support/wait';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';

const ZONES = [
  { origin: 'example.test', file: zonePath('example.test.zone') },
  { origin: 'rfc3263.test', file: zonePath('rfc3263.test.zone') },
];

describe('Node-RED nodes', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  before(async () => {
    server = await startDnsServer('bind', { zones: ZONES });
  });
  after(async () => server?.stop());
  afterEach(async () => helper.unload());

  const resolver = (extra: Record<string, unknown> = {}): Flow[number] => ({
    id: 'r1',
    type: 'sip-resolver',
    nameservers: server.nameserver,
    transports: 'udp,tcp',
    family: 'ipv4',
    ...extra,
  });
  function flow(extra: Record<string, unknown> = {}): Flow {
    return [
      resolver(extra),
      { id: 'loc', type: 'sip-locate', resolver: 'r1', uri: 'payload', uriType: 'msg', wires: [['ok'], ['err']] },
      { id: 'fail', type: 'sip-target-failed', resolver: 'r1', reason: 'transport', wires: [['next'], ['gone']] },
      { id: 'ok', type: 'helper' },
      { id: 'err', type: 'helper' },
      { id: 'next', type: 'helper' },
      { id: 'gone', type: 'helper' },
    ];
  }

  test('sip-locate puts the failover order in msg.sip and keeps the rest of the message', async () => {
    await helper.load(NODES, flow());
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:example.test;transport=udp', topic: 'keep me' });
    const msg = await got;
    assert.equal(msg.topic, 'keep me');
    assert.equal(msg.sip.uri, 'sip:example.test;transport=udp');
    assert.equal(msg.sip.attempt, 1);
    assert.equal(msg.sip.targets.length, 3);
    assert.deepEqual(msg.sip.target, msg.sip.targets[0]);
    assert.deepEqual(msg.sip.tried, [
      { transport: msg.sip.target.transport, address: msg.sip.target.address, port: msg.sip.target.port },
    ]);
    assert.equal(msg.sip.sticky, false);
    assert.equal(msg.sip.stale, false, 'fresh DNS data');
    assert.ok(['127.0.0.1', '127.0.0.2'].includes(msg.sip.target.address), 'priority 10 first');
  });

  test('bad URIs leave on output 2 with a typed error; the next good message is located', async () => {
    await helper.load(NODES, flow());
    const loc = helper.getNode('loc');
    for (const [payload, code] of [
      [42, 'EINVALIDURI'],
      ['http://x', 'EINVALIDURI'],
      ['sip:nothere.example.test', 'ENOTFOUND'],
      ['sip:noaddr.rfc3263.test', 'ENOADDRESS'],
      [{ a: 1 }, 'EINVALIDURI'],
    ] as const) {
      const got = nextMessage(helper.getNode('err'));
      loc.receive({ payload });
      const msg = await got;
      assert.equal(msg.sip.error.code, code, JSON.stringify(payload));
      assert.ok(msg.sip.error.message.length > 15);
    }
    const ok = nextMessage(helper.getNode('ok'));
    loc.receive({ payload: 'sip:ex41.rfc3263.test' });
    assert.equal((await ok).sip.target.transport, 'tcp');
  });

  test('the URI can come from a fixed string, or from flow/global/env', async () => {
    const f = flow();
    (f[1] as Record<string, unknown>).uri = 'sip:ex41.rfc3263.test;transport=tcp';
    (f[1] as Record<string, unknown>).uriType = 'str';
    await helper.load(NODES, f);
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'ignored' });
    assert.equal((await got).sip.uri, 'sip:ex41.rfc3263.test;transport=tcp');
  });

  test('sip-target-failed hands out the next target, counts attempts, and ends with EEXHAUSTED', async () => {
    await helper.load(NODES, flow());
    const located = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:example.test;transport=udp' });
    let msg = await located;
    const seen = [msg.sip.target.address];
    for (let i = 2; i <= 3; i++) {
      msg.sip.failure = 'timeout';
      const next = nextMessage(helper.getNode('next'));
      helper.getNode('fail').receive(msg);
      msg = await next;
      assert.equal(msg.sip.attempt, i);
      assert.equal(msg.sip.failure, undefined);
      seen.push(msg.sip.target.address);
    }
    assert.deepEqual([...seen].sort(), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    const gone = nextMessage(helper.getNode('gone'));
    helper.getNode('fail').receive(msg);
    const last = await gone;
    assert.equal(last.sip.error.code, 'EEXHAUSTED');
  });

  test('state is shared through the config node: a failure seen by one flow reorders the other', async () => {
    const f = flow();
    f.push(
      { id: 'loc2', type: 'sip-locate', resolver: 'r1', uri: 'payload', uriType: 'msg', wires: [['ok2'], []] },
      { id: 'ok2', type: 'helper' },
    );
    await helper.load(NODES, f);
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:example.test;transport=udp' });
    const msg = await got;
    const failed = msg.sip.target.address;
    msg.sip.failure = '503';
    msg.sip.retryAfter = 60;
    const next = nextMessage(helper.getNode('next'));
    helper.getNode('fail').receive(msg);
    await next;
    const other = nextMessage(helper.getNode('ok2'));
    helper.getNode('loc2').receive({ payload: 'sip:alice@example.test;transport=udp' });
    const m2 = await other;
    assert.equal(m2.sip.targets[m2.sip.targets.length - 1].address, failed);
    assert.equal(m2.sip.targets[m2.sip.targets.length - 1].mark, 'black');
  });

  test('a msg.sip that lost its targets goes to output 2 with EINVALIDMSG; msg.sip.ok confirms instead', async () => {
    await helper.load(NODES, flow({ sticky: true }));
    const gone = nextMessage(helper.getNode('gone'));
    helper.getNode('fail').receive({ sip: { target: { transport: 'udp', address: '127.0.0.1', port: 5060 } } });
    const bad = await gone;
    assert.equal(bad.sip.error.code, 'EINVALIDMSG');
    assert.match(bad.sip.error.message, /msg\.sip\.targets is missing/);
    const located = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:example.test;transport=udp' });
    const msg = await located;
    msg.sip.ok = true;
    const confirmed = nextMessage(helper.getNode('next'));
    helper.getNode('fail').receive(msg);
    const c = await confirmed;
    assert.equal(c.sip.ok, undefined);
    assert.equal(c.sip.attempt, 1);
    const pins = (helper.getNode('r1') as ResolverConfigNode).locator!.state().pins;
    assert.equal(pins.length, 1);
    assert.equal(pins[0]!.target.address, msg.sip.target.address);
  });

  test('with Catch enabled, a failure also reaches a Catch node, once', async () => {
    const f = flow();
    (f[1] as Record<string, unknown>).raiseErrors = true;
    f.push(
      { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    );
    await helper.load(NODES, f);
    let count = 0;
    helper.getNode('caught').on('input', () => count++);
    const caught = nextMessage(helper.getNode('caught'));
    const err = nextMessage(helper.getNode('err'));
    helper.getNode('loc').receive({ payload: 'not a uri' });
    const [c, e] = await Promise.all([caught, err]);
    assert.match(c.error.message, /EINVALIDURI/);
    assert.equal(e.sip.error.code, 'EINVALIDURI');
    assert.equal(count, 1);
  });

  test('a full redeploy with an unchanged config node keeps marks; a changed one starts afresh', async () => {
    const f = flow();
    await helper.load(NODES, f);
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:example.test;transport=udp' });
    const msg = await got;
    msg.sip.failure = 'transport';
    const next = nextMessage(helper.getNode('next'));
    helper.getNode('fail').receive(msg);
    await next;
    assert.equal((helper.getNode('r1') as ResolverConfigNode).locator!.state().marks.length, 1);
    await helper.setFlows(f, 'full');
    assert.equal((helper.getNode('r1') as ResolverConfigNode).locator!.state().marks.length, 1, 'state survived');
    const changed = flow({ greylist: 60 });
    await helper.setFlows(changed, 'full');
    assert.equal(
      (helper.getNode('r1') as ResolverConfigNode).locator!.state().marks.length,
      0,
      'new configuration, new state',
    );
  });

  test('an invalid configuration is reported, and messages leave on output 2', async () => {
    await helper.load(NODES, flow({ nameservers: 'not-an-address' }));
    const got = nextMessage(helper.getNode('err'));
    helper.getNode('loc').receive({ payload: 'sip:example.test' });
    assert.equal((await got).sip.error.code, 'EINVALIDNAMESERVER');
  });

  test('state store settings are checked: each mistake is an EINVALIDOPTION saying what to fix', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ store: 'redis' }, /no Redis URL/],
      [{ store: 'redis', redisUrl: 'http://127.0.0.1:6379' }, /redis:\/\//],
      [{ store: 'redis', redisUrl: 'redis://127.0.0.1/db' }, /database number/],
      [{ store: 'disk' }, /memory, context or redis/],
      [{ pinSeconds: 0 }, /pinSeconds/],
      [{ maxPins: '0' }, /maxPins/],
      [{ maxMarks: 'lots' }, /maxMarks/],
    ];
    for (const [extra, message] of cases) {
      await helper.load(NODES, flow(extra));
      const got = nextMessage(helper.getNode('err'));
      helper.getNode('loc').receive({ payload: 'sip:example.test' });
      const error = (await got).sip.error;
      assert.equal(error.code, 'EINVALIDOPTION', JSON.stringify(extra));
      assert.match(error.message, message);
      await helper.unload();
    }
  });

  test("a context state store keeps marks and pins in the config node's context; memory reports no store", async () => {
    await helper.load(NODES, flow({ sticky: true, store: 'context' }));
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:example.test;transport=udp' });
    const pinned = (await got).sip.target;
    const r1 = helper.getNode('r1') as HelperMsg;
    await until(() => r1.context().get('sipLocateState')?.pins.length === 1, 'the pin is saved to context');
    const saved = r1.context().get('sipLocateState');
    assert.equal(saved.pins[0].target.address, pinned.address);
    assert.equal(r1.storeStatus().state, 'up');
    await helper.unload();
    await helper.load(NODES, flow());
    assert.equal((helper.getNode('r1') as ResolverConfigNode).storeStatus(), undefined);
  });

  test('Try it admin endpoint: tree, targets and state; 400 for bad input; 404 before deploy', async () => {
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await helper.load(NODES, flow());
    try {
      const ok = await helper.request().post('/sip-resolver/r1/try').send({ uri: 'sip:ex41.rfc3263.test' }).expect(200);
      assert.equal(ok.body.ok, true);
      assert.equal(ok.body.result.trace.kind, 'uri');
      assert.equal(ok.body.result.trace.children[0].type, 'NAPTR');
      assert.deepEqual(
        ok.body.result.targets.map((t: { transport: string }) => t.transport),
        ['tcp', 'tcp'],
      );
      assert.deepEqual(ok.body.state, { marks: [], pins: [] });
      const nf = await helper
        .request()
        .post('/sip-resolver/r1/try')
        .send({ uri: 'sip:nothere.example.test' })
        .expect(200);
      assert.equal(nf.body.error.code, 'ENOTFOUND');
      const bad = await helper.request().post('/sip-resolver/r1/try').send({ uri: 'http://x' }).expect(400);
      assert.equal(bad.body.ok, false);
      await helper.request().post('/sip-resolver/r1/try').send({}).expect(400);
      await helper
        .request()
        .post('/sip-resolver/r1/try')
        .send({ uri: 'sip:' + 'a'.repeat(5000) })
        .expect(400);
      const missing = await helper.request().post('/sip-resolver/nope/try').send({ uri: 'sip:x.test' }).expect(404);
      assert.equal(missing.body.code, 'ENOTDEPLOYED');
      await helper.request().post('/sip-resolver/..%2F..%2Fetc/try').send({ uri: 'sip:x.test' }).expect(404);
    } finally {
      await helper.unload();
      await new Promise<void>((resolve) => helper.stopServer(resolve));
    }
  });

  test('status under a burst: 300 messages give a handful of status updates, the last one for the last message', async () => {
    await helper.load(NODES, flow());
    const loc = helper.getNode('loc');
    const statuses: Array<Record<string, string>> = [];
    loc.on('call:status', (call: { args: Array<Record<string, string>> }) => statuses.push(call.args[0]!));
    const okNode = helper.getNode('ok');
    const errNode = helper.getNode('err');
    let n = 0;
    const all = new Promise<void>((resolve) => {
      const count = (): void => {
        if (++n === 300) resolve();
      };
      okNode.on('input', count);
      errNode.on('input', count);
    });
    for (let i = 0; i < 299; i++) loc.receive({ payload: 'sip:example.test;transport=udp' });
    loc.receive({ payload: 'sip:nothere.example.test' });
    await all;
    await until(() => statuses.at(-1)?.text === 'ENOTFOUND', "the last message's status");
    assert.ok(statuses.length <= 5, `${statuses.length} status updates for 300 messages`);
  });

  test('status: the target (and sticky) after a location, the code after an error, the failover after a failure', async () => {
    await helper.load(NODES, flow({ sticky: true }));
    const loc = helper.getNode('loc');
    const statuses: Array<Record<string, string>> = [];
    loc.on('call:status', (call: { args: Array<Record<string, string>> }) => statuses.push(call.args[0]!));
    const ok = nextMessage(helper.getNode('ok'));
    loc.receive({ payload: 'sip:ex41.rfc3263.test' });
    const msg = await ok;
    const last = statuses.at(-1)!;
    assert.deepEqual([last.fill, last.shape], ['green', 'dot']);
    assert.equal(
      last.text,
      'sip-locate.status.locatedSticky',
      'translated through RED._ with the target (the helper returns keys)',
    );
    const err = nextMessage(helper.getNode('err'));
    loc.receive({ payload: 'sip:nothere.example.test' });
    await err;
    // Within 250 ms of the last update, a status is held back and then shown: wait for it.
    await until(() => statuses.at(-1)?.text === 'ENOTFOUND', 'the error status');
    assert.deepEqual(statuses.at(-1), { fill: 'red', shape: 'ring', text: 'ENOTFOUND' });
    const fail = helper.getNode('fail');
    const failStatuses: Array<Record<string, string>> = [];
    fail.on('call:status', (call: { args: Array<Record<string, string>> }) => failStatuses.push(call.args[0]!));
    msg.sip.failure = '503';
    const next = nextMessage(helper.getNode('next'));
    fail.receive(msg);
    const moved = await next;
    assert.equal(
      failStatuses.at(-1)!.text,
      'sip-target-failed.status.failover',
      `503 -> tcp ${moved.sip.target.address}:5060 in the runtime's language`,
    );
    assert.equal(failStatuses.at(-1)!.fill, 'yellow');
  });
});
