// tel: URIs through ENUM in the Node-RED nodes (node-red-node-test-helper) over real BIND: msg.sip.enum, ENOENUM,
// the sip-resolver's ENUM settings, failover after ENUM, and the ENUM branch in Try it.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { helper, NODES, nextMessage, type Flow } from './helper';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';

const ZONES = ['e164.arpa', 'e164.carrier.test', 'enum.test'].map((origin) => ({
  origin,
  file: zonePath(`${origin}.zone`),
}));

describe('Node-RED nodes with ENUM', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  before(async () => {
    server = await startDnsServer('bind', { zones: ZONES });
  });
  after(async () => server?.stop());
  afterEach(async () => helper.unload());

  function flow(extra: Record<string, unknown> = {}): Flow {
    return [
      {
        id: 'r1',
        type: 'sip-resolver',
        nameservers: server.nameserver,
        transports: 'udp,tcp',
        family: 'ipv4',
        enumSuffixes: 'e164.carrier.test, e164.arpa',
        ...extra,
      },
      { id: 'loc', type: 'sip-locate', resolver: 'r1', uri: 'payload', uriType: 'msg', wires: [['ok'], ['err']] },
      { id: 'fail', type: 'sip-target-failed', resolver: 'r1', reason: 'transport', wires: [['next'], ['gone']] },
      { id: 'ok', type: 'helper' },
      { id: 'err', type: 'helper' },
      { id: 'next', type: 'helper' },
      { id: 'gone', type: 'helper' },
    ];
  }

  test('a tel: URI: msg.sip.enum names the number, record and SIP URI; msg.sip.uri is the SIP URI', async () => {
    await helper.load(NODES, flow());
    const got = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'tel:+1-202-555-0102' });
    const msg = await got;
    assert.deepEqual(msg.sip.enum, {
      number: '+12025550102',
      domain: '2.0.1.0.5.5.5.2.0.2.1.e164.carrier.test',
      uri: 'sip:carrier@c.enum.test',
      order: 10,
      preference: 10,
    });
    assert.equal(msg.sip.uri, 'sip:carrier@c.enum.test');
    assert.equal(msg.sip.target.address, '127.0.40.3');
    assert.equal(msg.sip.destination, 'sip:c.enum.test');
  });

  test('no usable ENUM record: output 2 with ENOENUM; with enumFallback the gateway, marked as fallback', async () => {
    await helper.load(NODES, flow());
    const err = nextMessage(helper.getNode('err'));
    helper.getNode('loc').receive({ payload: 'tel:+12025550109' });
    const bad = await err;
    assert.equal(bad.sip.error.code, 'ENOENUM');
    assert.match(bad.sip.error.message, /enumFallback/);
    await helper.unload();
    await helper.load(NODES, flow({ enumFallback: 'sip:{number}@gw.enum.test' }));
    const ok = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'tel:+12025550109' });
    const msg = await ok;
    assert.deepEqual(msg.sip.enum, { number: '+12025550109', uri: 'sip:+12025550109@gw.enum.test', fallback: true });
    assert.equal(msg.sip.target.address, '127.0.40.9');
  });

  test('user=phone goes through ENUM only with enumForUserPhone; failover keeps msg.sip.enum', async () => {
    await helper.load(NODES, flow());
    const plain = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:+12025550101@gw.enum.test;user=phone' });
    assert.equal((await plain).sip.target.address, '127.0.40.9');
    await helper.unload();
    await helper.load(NODES, flow({ enumForUserPhone: true }));
    const viaEnum = nextMessage(helper.getNode('ok'));
    helper.getNode('loc').receive({ payload: 'sip:+12025550101@gw.enum.test;user=phone' });
    const msg = await viaEnum;
    assert.equal(msg.sip.target.address, '127.0.40.1');
    assert.equal(msg.sip.enum.uri, 'sip:alice@a.enum.test');
    const gone = nextMessage(helper.getNode('gone'));
    helper.getNode('fail').receive(msg);
    const after = await gone;
    assert.equal(after.sip.error.code, 'EEXHAUSTED', 'a single target: nothing left');
    assert.equal(after.sip.enum.number, '+12025550101');
  });

  test('a bad ENUM setting is a configuration error the locate node reports', async () => {
    await helper.load(NODES, flow({ enumFallback: 'mailto:{number}@x' }));
    const err = nextMessage(helper.getNode('err'));
    helper.getNode('loc').receive({ payload: 'tel:+12025550101' });
    assert.equal((await err).sip.error.code, 'EINVALIDOPTION');
  });

  test('Try it: the ENUM step is the first branch of the tree', async () => {
    await new Promise<void>((resolve) => helper.startServer(resolve));
    await helper.load(NODES, flow());
    try {
      const res = await helper.request().post('/sip-resolver/r1/try').send({ uri: 'tel:+12025550103' }).expect(200);
      assert.equal(res.body.ok, true);
      const tree = res.body.result.trace;
      assert.deepEqual([tree.kind, tree.name], ['uri', 'tel:+12025550103']);
      assert.deepEqual([tree.children[0].kind, tree.children[0].name], ['enum', 'ENUM +12025550103']);
      assert.deepEqual(
        tree.children[0].children.map((c: { name: string }) => c.name),
        ['3.0.1.0.5.5.5.2.0.2.1.e164.carrier.test', '3.0.1.0.5.5.5.2.0.2.1.e164.arpa'],
      );
      assert.equal(tree.children[1].name, 'sip:a.enum.test');
      assert.equal(res.body.result.enum.uri, 'sip:first@a.enum.test');
      const bad = await helper.request().post('/sip-resolver/r1/try').send({ uri: 'tel:5550101' }).expect(400);
      assert.equal(bad.body.error.code, 'EINVALIDURI');
    } finally {
      await helper.unload();
      await new Promise<void>((resolve) => helper.stopServer(resolve));
    }
  });
});
