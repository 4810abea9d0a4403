// failoverCodes, numeric failures, reports from outside the flow and skipIfConfirmedWithin, in a Node-RED runtime over real BIND and sipp.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { helper, NODES, nextMessage, type Flow, type HelperMsg } from './helper';
import type { ResolverConfigNode } from '../../src/nodes/resolver-lookup';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';
import { skipUnlessSipp, startSipp, type RunningSipp } from '../servers/sipp';
import { until } from '../support/wait';

const ZONES = [{ origin: 'example.test', file: zonePath('example.test.zone') }];
const URI = 'sip:example.test;transport=udp';
const ALL = [...NODES, require('../../src/nodes/sip-options')];

describe('failover codes and reports in Node-RED', { skip: skipUnless('bind') || skipUnlessSipp() }, () => {
  let server: RunningDnsServer;
  const sipp: RunningSipp[] = [];
  before(async () => {
    server = await startDnsServer('bind', { zones: ZONES });
    sipp.push(await startSipp({ scenario: 'uas_options_200.xml', address: '127.0.0.86', transport: 'udp' }));
    sipp.push(await startSipp({ scenario: 'uas_options_503.xml', address: '127.0.0.87', transport: 'udp' }));
  });
  after(async () => {
    for (const s of sipp) {
      try {
        process.kill(s.pid, 'SIGCONT');
      } catch {
        // gone
      }
      await s.stop();
    }
    await server?.stop();
  });
  afterEach(async () => helper.unload());

  function flow(failoverCodes = '', options: Record<string, unknown> = {}): Flow {
    return [
      {
        id: 'r1',
        type: 'sip-resolver',
        nameservers: server.nameserver,
        transports: 'udp,tcp',
        family: 'ipv4',
        sticky: true,
      },
      { id: 'loc', type: 'sip-locate', resolver: 'r1', uri: 'payload', uriType: 'msg', wires: [['ok'], []] },
      {
        id: 'fail',
        type: 'sip-target-failed',
        resolver: 'r1',
        reason: 'transport',
        failoverCodes,
        wires: [['next'], ['out2']],
      },
      {
        id: 'opt',
        type: 'sip-options',
        resolver: 'r1',
        timeout: 1000,
        t1: 100,
        failoverCodes,
        ...options,
        wires: [['answered'], ['optfail']],
      },
      ...['ok', 'next', 'out2', 'answered', 'optfail'].map((id) => ({ id, type: 'helper' })),
    ];
  }
  async function load(f: Flow): Promise<void> {
    await helper.load(ALL, f);
    // The resolver's marks and pins outlive a redeploy: start each test clean.
    (helper.getNode('r1') as ResolverConfigNode).locator!.resetState();
  }
  async function locate(): Promise<HelperMsg> {
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: URI });
    return got;
  }
  async function through(id: string, msg: Record<string, unknown>, out: string): Promise<HelperMsg> {
    const got = nextMessage(helper.getNode(out));
    helper.getNode(id).receive(msg);
    return got;
  }

  test('a numeric msg.sip.failure fails over when listed; otherwise ENOFAILOVER on output 2 and nothing marked', async () => {
    await load(flow('408, 480, 5xx'));
    const msg = await locate();
    const first = msg.sip.target.key;
    const busy = await through('fail', { sip: { ...msg.sip, failure: 486 } }, 'out2');
    assert.equal(busy.sip.error.code, 'ENOFAILOVER');
    assert.match(busy.sip.error.message, /486 is an answer.*408, 480, 5xx/);
    assert.equal((helper.getNode('r1') as ResolverConfigNode).locator!.state().marks.length, 0);
    const next = await through('fail', { sip: { ...msg.sip, failure: 480 } }, 'next');
    assert.notEqual(next.sip.target.key, first);
    assert.equal(next.sip.attempt, 2);
    assert.deepEqual(
      (helper.getNode('r1') as ResolverConfigNode).locator!.state().marks.map((m: { mark: string }) => m.mark),
      ['grey'],
    );
    const again = await through('fail', { sip: { ...next.sip, failure: '500' } }, 'next');
    assert.equal(again.sip.attempt, 3);
  });

  test('the default list is 503 only; a bad list is EINVALIDOPTION for every message', async () => {
    await load(flow());
    const msg = await locate();
    assert.equal((await through('fail', { sip: { ...msg.sip, failure: 500 } }, 'out2')).sip.error.code, 'ENOFAILOVER');
    assert.equal((await through('fail', { sip: { ...msg.sip, failure: '503' } }, 'next')).sip.attempt, 2);
    await helper.unload();
    await load(flow('5o3'));
    const m2 = await locate();
    const bad = await through('fail', m2, 'out2');
    assert.equal(bad.sip.error.code, 'EINVALIDOPTION');
    assert.match(bad.sip.error.message, /"5o3" in failoverCodes/);
    assert.equal((await through('opt', m2, 'optfail')).sip.error.code, 'EINVALIDOPTION');
  });

  test('a report from outside (a query string as msg.sip) fails over; a stranger is ENOTATARGET; ok confirms', async () => {
    await load(flow('408, 5xx'));
    const msg = await locate();
    const [t0, t1] = msg.sip.targets;
    const query = Object.fromEntries(
      new URLSearchParams(`uri=${encodeURIComponent(URI)}&failed=${t0.key}&status=503&retry_after=60`),
    );
    const next = await through('fail', { sip: query }, 'next');
    assert.deepEqual(
      [next.sip.target.key, next.sip.attempt, next.sip.sticky, next.sip.destination],
      [t1.key, 2, true, msg.sip.destination],
    );
    assert.equal(next.sip.target.uri, `sip:${t1.address}:${t1.port};transport=udp`);
    const state = (helper.getNode('r1') as ResolverConfigNode).locator!.state();
    assert.deepEqual(
      state.marks.map((m: { address: string; mark: string }) => [m.address, m.mark]),
      [[t0.address, 'black']],
    );
    const before = JSON.stringify(state);
    const stranger = await through(
      'fail',
      { sip: { uri: URI, failed: 'udp:10.9.9.9:5060', status: '503', retry_after: '600' } },
      'out2',
    );
    assert.equal(stranger.sip.error.code, 'ENOTATARGET');
    assert.equal(JSON.stringify((helper.getNode('r1') as ResolverConfigNode).locator!.state()), before);
    const garbled = await through('fail', { sip: { uri: URI, failed: 'udp:127.0.0.1:5070', status: 'x' } }, 'out2');
    assert.equal(garbled.sip.error.code, 'EINVALIDMSG');
    const confirmed = await through('fail', { sip: { uri: URI, target: t1.key, ok: 'true' } }, 'next');
    assert.deepEqual([confirmed.sip.target.key, confirmed.sip.sticky], [t1.key, true]);
    const busy = await through('fail', { sip: { uri: URI, failed: t1.key, status: 486 } }, 'out2');
    assert.equal(busy.sip.error.code, 'ENOFAILOVER');
  });

  test('sip-options: a 503 under failoverCodes "480" is an answer; under "5xx" it fails over', async () => {
    const target = (s: RunningSipp): Record<string, unknown> => ({
      uri: 'x',
      destination: 'x',
      target: { transport: 'udp', address: s.address, port: s.port, host: s.address },
      targets: [{ transport: 'udp', address: s.address, port: s.port, host: s.address }],
    });
    await load(flow('480'));
    const answered = await through('opt', { sip: target(sipp[1]!) }, 'answered');
    assert.equal(answered.sip.response.status, 503);
    await helper.unload();
    await load(flow('5xx'));
    const failed = await through('opt', { sip: target(sipp[1]!) }, 'optfail');
    assert.equal(failed.sip.failure, '503');
  });

  test('sip-options skipIfConfirmedWithin: a target confirmed a moment ago passes without a probe; 0 probes every time', async () => {
    const target = {
      uri: 'x',
      destination: 'x',
      target: { transport: 'udp', address: sipp[0]!.address, port: sipp[0]!.port, host: sipp[0]!.address },
      targets: [{ transport: 'udp', address: sipp[0]!.address, port: sipp[0]!.port, host: sipp[0]!.address }],
    };
    await load(flow('', { skipIfConfirmedWithin: 60 }));
    const first = await through('opt', { sip: target }, 'answered');
    assert.equal(first.sip.response.status, 200);
    process.kill(sipp[0]!.pid, 'SIGSTOP');
    try {
      const second = await through('opt', { sip: target }, 'answered');
      assert.deepEqual([second.sip.skipped, second.sip.response], [true, undefined]);
      await helper.unload();
      await load(flow('', { skipIfConfirmedWithin: 0 }));
      const probed = await through('opt', { sip: target }, 'optfail');
      assert.equal(probed.sip.failure, 'timeout');
    } finally {
      process.kill(sipp[0]!.pid, 'SIGCONT');
    }
  });
});

describe('resolveTimeout on sip-resolver', () => {
  afterEach(async () => helper.unload());

  test('a lookup against a nameserver that never answers ends with ETIMEOUT at the configured limit, not at 10 s', async () => {
    // A nameserver that stays silent: something real servers do not do on request.
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    try {
      await helper.load(NODES, [
        {
          id: 'r1',
          type: 'sip-resolver',
          nameservers: `127.0.0.1:${silent.address().port}`,
          transports: 'udp',
          family: 'ipv4',
          timeout: 5000,
          tries: 3,
          resolveTimeout: 0.3,
        },
        { id: 'loc', type: 'sip-locate', resolver: 'r1', uri: 'payload', uriType: 'msg', wires: [[], ['err']] },
        { id: 'err', type: 'helper' },
      ] as Flow);
      const got = nextMessage(helper.getNode('err'), 4000);
      helper.getNode('loc').receive({ payload: 'sip:slow.example.test' });
      const msg = await got;
      assert.equal(msg.sip.error.code, 'ETIMEOUT');
      assert.match(msg.sip.error.message, /longer than 300 ms/);
    } finally {
      silent.close();
    }
  });
});

describe('sip-target-failed and a report about a destination it never handed out', () => {
  test('the report is refused with ENOTATARGET at once: no DNS question, nothing marked', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    let asked = 0;
    silent.on('message', () => asked++);
    try {
      await helper.load(NODES, [
        {
          id: 'r1',
          type: 'sip-resolver',
          nameservers: `127.0.0.1:${silent.address().port}`,
          transports: 'udp',
          family: 'ipv4',
          timeout: 5000,
          tries: 3,
        },
        { id: 'fail', type: 'sip-target-failed', resolver: 'r1', reason: 'transport', wires: [['next'], ['out2']] },
        { id: 'next', type: 'helper' },
        { id: 'out2', type: 'helper' },
      ] as Flow);
      const got = nextMessage(helper.getNode('out2'));
      helper.getNode('fail').receive({
        sip: {
          uri: 'sip:cold.example.test',
          failed: 'udp:192.0.2.1:5060',
          status: 503,
          targets: [],
          destination: 'sip:cold.example.test',
        },
      });
      const msg = (await got) as { sip: { error: { code: string } } };
      assert.equal(msg.sip.error.code, 'ENOTATARGET');
      assert.equal(asked, 0);
      const resolver = helper.getNode('r1') as unknown as ResolverConfigNode;
      assert.deepEqual(resolver.locator?.state().marks, []);
    } finally {
      silent.close();
    }
  });
});
