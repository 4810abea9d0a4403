// Try it (POST /sip-resolver/:id/try) in a Node-RED runtime over real BIND: it shows state and changes none.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { helper, NODES, nextMessage, type Flow } from './helper';
import type { ResolverConfigNode } from '../../src/nodes/resolver-lookup';
import type { StateChange } from '../../src/core/types';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';

const ZONES = [
  { origin: 'example.test', file: zonePath('example.test.zone') },
  { origin: 'rfc3263.test', file: zonePath('rfc3263.test.zone') },
];

describe('Try it is read-only', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  before(async () => {
    server = await startDnsServer('bind', { zones: ZONES });
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  after(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await server?.stop();
  });

  test('no change events and the same pins, marks and expiries before and after', async () => {
    await helper.load(NODES, [
      {
        id: 'r1',
        type: 'sip-resolver',
        nameservers: server.nameserver,
        transports: 'udp,tcp',
        family: 'ipv4',
        sticky: true,
      },
      { id: 'loc', type: 'sip-locate', resolver: 'r1', uri: 'payload', uriType: 'msg', wires: [['ok'], ['err']] },
      { id: 'ok', type: 'helper' },
      { id: 'err', type: 'helper' },
    ] as Flow);
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:example.test;transport=udp' });
    const msg = await got;
    const locator = (helper.getNode('r1') as ResolverConfigNode).locator!;
    locator.markFailed(msg.sip.targets[1], { reason: '503', retryAfter: 300 });
    const state = (await helper.request().get('/sip-resolver/r1/state').expect(200)).body;
    assert.equal(state.pins.length, 1);
    assert.equal(state.marks.length, 1);
    const seen: StateChange[] = [];
    locator.onChange((c) => seen.push(c));
    for (const uri of ['sip:example.test;transport=udp', 'sip:ex41.rfc3263.test', 'sip:127.0.0.7']) {
      const tried = await helper.request().post('/sip-resolver/r1/try').send({ uri }).expect(200);
      assert.equal(tried.body.ok, true, uri);
      assert.equal(tried.body.result.sticky, true, uri);
      assert.deepEqual(
        { marks: tried.body.state.marks, pins: tried.body.state.pins },
        { marks: state.marks, pins: state.pins },
        uri,
      );
    }
    assert.equal(seen.length, 0);
    const afterwards = (await helper.request().get('/sip-resolver/r1/state').expect(200)).body;
    // The DNS client's round-trip timers learn from Try it's questions like from any other: that is measurement, not
    // state Try it changed; everything else is compared whole.
    type Body = { nameservers: Array<{ timer: unknown }> };
    const withoutTimers = (b: Body): unknown => ({ ...b, nameservers: b.nameservers.map(({ timer: _, ...n }) => n) });
    assert.deepEqual(withoutTimers(afterwards as Body), withoutTimers(state as Body));
    assert.equal(locator.locateCached('sip:ex41.rfc3263.test'), undefined, 'Try it did not fill the plan cache');
  });
});
