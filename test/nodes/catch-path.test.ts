// Every node that can fail offers the Catch path: with "raise errors" on, a failure leaves on output 2 AND reaches a
// Catch node once; with it off, only output 2. sip-options (a bad message, a refused probe) and sip-events (a bad
// command); sip-locate and sip-target-failed are covered in nodes.test.ts and failover-report.test.ts.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collector, helper, NODES, type Flow } from './helper';
import { freePort } from '../servers/ports';

const ALL = [...NODES, require('../../src/nodes/sip-options'), require('../../src/nodes/sip-events')];

describe('the Catch path', () => {
  afterEach(async () => helper.unload());

  const flow = (raiseErrors: boolean): Flow => [
    { id: 'r1', type: 'sip-resolver', nameservers: '127.0.0.1:9', transports: 'udp,tcp' },
    { id: 'opt', type: 'sip-options', resolver: 'r1', timeout: 3000, raiseErrors, wires: [['ok'], ['err']] },
    { id: 'ev', type: 'sip-events', resolver: 'r1', raiseErrors, wires: [[], ['answers']] },
    { id: 'c1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'ok', type: 'helper' },
    { id: 'err', type: 'helper' },
    { id: 'answers', type: 'helper' },
    { id: 'caught', type: 'helper' },
  ];

  for (const raiseErrors of [true, false]) {
    test(`raise errors ${raiseErrors ? 'on' : 'off'}: sip-options and sip-events failures on output 2${raiseErrors ? ' and at the Catch node, once each' : ' only'}`, async () => {
      await helper.load(ALL, flow(raiseErrors));
      const out = collector(['ok', 'err', 'answers', 'caught']);
      const target = {
        transport: 'tcp',
        address: '127.0.0.1',
        port: await freePort(),
        family: 4,
        host: 'a.pbx.test',
        source: 'srv',
        ttl: 60,
      };
      const sip = {
        uri: 'sip:pbx.test',
        destination: 'sip:pbx.test',
        target,
        targets: [target],
        tried: [],
        attempt: 1,
        sticky: false,
      };
      helper.getNode('opt').receive({ sip: { nothing: true } }); // not from sip-locate: EINVALIDMSG
      helper.getNode('opt').receive({ sip }); // refused: a transport failure
      helper.getNode('ev').receive({ payload: { command: 'explode' } }); // EINVALIDMSG
      const expected = raiseErrors ? 6 : 3;
      await out.until(expected);
      assert.equal(out.byOutput.ok!.length, 0);
      assert.equal(out.byOutput.err!.length, 2);
      assert.equal(out.byOutput.answers!.length, 1);
      const codes = out.byOutput.err!.map((m) => (m as { sip: { error: { code: string } } }).sip.error.code).sort();
      assert.deepEqual(codes, ['ECONNREFUSED', 'EINVALIDMSG']);
      const caught = out.byOutput.caught!.map(
        (m) => (m as { error: { message: string; source: { id: string } } }).error,
      );
      assert.equal(caught.length, raiseErrors ? 3 : 0);
      if (raiseErrors) {
        assert.deepEqual(caught.map((e) => e.source.id).sort(), ['ev', 'opt', 'opt']);
        assert.ok(caught.some((e) => /EINVALIDMSG: /.test(e.message) && e.source.id === 'ev'));
        assert.ok(caught.some((e) => /ECONNREFUSED: /.test(e.message) && e.source.id === 'opt'));
      }
    });
  }
});
