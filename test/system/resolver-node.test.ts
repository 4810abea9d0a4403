// The sip-resolver's new settings in a Node-RED runtime over real BIND: static records, address look-up, query budget.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { helper, NODES, nextMessage, type Flow } from '../nodes/helper';
import { optionsFromConfig } from '../../src/nodes/resolver-config';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';

test('optionsFromConfig maps the new settings; nodes saved before them get the defaults (undefined)', () => {
  const o = optionsFromConfig({
    id: 'r',
    addressLookup: 'system',
    systemTtl: '12',
    staticRecords: 'a.example. A 192.0.2.1',
    maxQueriesPerLocate: '20',
  });
  assert.equal(o.addressLookup, 'system');
  assert.equal(o.systemTtl, 12);
  assert.equal(o.staticRecords, 'a.example. A 192.0.2.1');
  assert.equal(o.maxQueriesPerLocate, 20);
  const old = optionsFromConfig({ id: 'r' });
  assert.equal(old.addressLookup, undefined);
  assert.equal(old.systemTtl, undefined);
  assert.equal(old.staticRecords, undefined);
  assert.equal(old.maxQueriesPerLocate, undefined);
});

describe('sip-resolver settings in Node-RED', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  before(async () => {
    server = await startDnsServer('bind', { zones: [{ origin: 'example.test', file: zonePath('example.test.zone') }] });
  });
  after(async () => server?.stop());
  afterEach(async () => helper.unload());

  test('static records answer before DNS; a budget too small fails with EBUDGET on output 2', async () => {
    const flow = (extra: Record<string, unknown>): Flow => [
      {
        id: 'r1',
        type: 'sip-resolver',
        nameservers: server.nameserver,
        transports: 'udp',
        family: 'ipv4',
        addressLookup: 'dns',
        ...extra,
      },
      { id: 'loc', type: 'sip-locate', resolver: 'r1', uri: 'payload', uriType: 'msg', wires: [['ok'], ['err']] },
      { id: 'ok', type: 'helper' },
      { id: 'err', type: 'helper' },
    ];
    await helper.load(
      NODES,
      flow({
        staticRecords:
          '_sip._udp.lab.example.test. 60 IN SRV 0 0 5099 pbx.lab.example.test.\npbx.lab.example.test. IN A 192.0.2.99',
      }),
    );
    const ok = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:lab.example.test' });
    const msg = await ok;
    assert.deepEqual([msg.sip.target.address, msg.sip.target.port, msg.sip.target.source], ['192.0.2.99', 5099, 'srv']);
    await helper.unload();
    await helper.load(NODES, flow({ maxQueriesPerLocate: 2 }));
    const err = nextMessage(helper.getNode('err'));
    helper.getNode('loc').receive({ payload: 'sip:example.test' });
    assert.equal((await err).sip.error.code, 'EBUDGET');
  });
});
