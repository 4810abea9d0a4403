// Affinity keys and destination sets through the nodes (node-red-node-test-helper), over real BIND serving two
// carrier domains (test/zones/carriers.test.zone).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { helper, NODES, nextMessage, type Flow } from './helper';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';

const POOL = 'sip:pool.carriers.test;transport=udp';

describe('affinity keys and sets in the nodes', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  before(async () => {
    server = await startDnsServer('bind', {
      zones: [{ origin: 'carriers.test', file: zonePath('carriers.test.zone') }],
    });
  });
  after(async () => server?.stop());
  afterEach(async () => helper.unload());

  const setMembers = [
    { set: 'carriers', uri: 'carrier-a.carriers.test', priority: '1', weight: '' },
    { set: 'carriers', uri: 'sip:carrier-b.carriers.test', priority: '2', weight: '' },
  ];
  const resolver = (id: string, extra: Record<string, unknown> = {}): Flow[number] => ({
    id,
    type: 'sip-resolver',
    nameservers: server.nameserver,
    transports: 'udp',
    family: 'ipv4',
    affinity: 'key',
    setMembers,
    ...extra,
  });
  const flow = (key: Record<string, unknown>): Flow => [
    resolver('r1'),
    resolver('r2'),
    {
      id: 'loc1',
      type: 'sip-locate',
      resolver: 'r1',
      uri: 'payload',
      uriType: 'msg',
      ...key,
      wires: [['ok1'], ['err']],
    },
    {
      id: 'loc2',
      type: 'sip-locate',
      resolver: 'r2',
      uri: 'payload',
      uriType: 'msg',
      ...key,
      wires: [['ok2'], ['err']],
    },
    { id: 'fail', type: 'sip-target-failed', resolver: 'r1', reason: 'timeout', wires: [['next'], ['gone']] },
    { id: 'ok1', type: 'helper' },
    { id: 'ok2', type: 'helper' },
    { id: 'err', type: 'helper' },
    { id: 'next', type: 'helper' },
    { id: 'gone', type: 'helper' },
  ];
  const ask = async (node: string, out: string, msg: Record<string, unknown>): ReturnType<typeof nextMessage> => {
    const got = nextMessage(helper.getNode(out), 15_000);
    helper.getNode(node).receive(msg);
    return got;
  };

  test('two resolvers without a store route 40 callers identically; msg.sip.affinityKey shows the key', async () => {
    await helper.load(NODES, flow({ key: 'caller', keyType: 'msg' }));
    const servers = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const a = await ask('loc1', 'ok1', { payload: POOL, caller: `caller-${i}` });
      const b = await ask('loc2', 'ok2', { payload: POOL, caller: `caller-${i}` });
      assert.equal(a.sip.affinityKey, `caller-${i}`);
      assert.deepEqual(
        a.sip.targets.map((t: { key: string }) => t.key),
        b.sip.targets.map((t: { key: string }) => t.key),
      );
      servers.add(a.sip.target.host);
    }
    assert.ok(servers.size >= 5, `40 callers reached ${servers.size} of the 6 servers`);
  });

  test('the key can be JSONata; a key with a control character leaves on output 2 as EINVALIDMSG', async () => {
    await helper.load(NODES, flow({ key: '"tenant-" & $string(tenant)', keyType: 'jsonata' }));
    const a = await ask('loc1', 'ok1', { payload: POOL, tenant: 7 });
    assert.equal(a.sip.affinityKey, 'tenant-7');
    const bad = await ask('loc1', 'err', { payload: POOL, tenant: '7\n8' });
    assert.equal(bad.sip.error.code, 'EINVALIDMSG');
  });

  test('set:carriers from the editor rows: carrier A then B; sip-target-failed walks on with the key', async () => {
    await helper.load(NODES, flow({ key: 'caller', keyType: 'msg' }));
    let msg = await ask('loc1', 'ok1', { payload: 'set:carriers', caller: 'alice' });
    assert.equal(msg.sip.destination, 'set:carriers');
    assert.deepEqual(
      msg.sip.targets.map((t: { host: string }) => t.host.split('.')[1]),
      ['carrier-a', 'carrier-a', 'carrier-a', 'carrier-b', 'carrier-b', 'carrier-b'],
    );
    const order = msg.sip.targets.map((t: { key: string }) => t.key);
    for (let i = 1; i <= 3; i++) {
      msg = await ask('fail', 'next', msg);
      assert.equal(msg.sip.target.key, order[i]);
      assert.equal(msg.sip.affinityKey, 'alice');
    }
  });

  test("a proxy report with key= fails over to the key's second server", async () => {
    await helper.load(NODES, flow({ key: 'caller', keyType: 'msg' }));
    const located = await ask('loc1', 'ok1', { payload: POOL, caller: 'bob' });
    const next = await ask('fail', 'next', {
      sip: { uri: POOL, failed: located.sip.target.key, status: '503', key: 'bob' },
    });
    assert.equal(next.sip.target.key, located.sip.targets[1].key);
    assert.equal(next.sip.affinityKey, 'bob');
    const bad = await ask('fail', 'gone', {
      sip: { uri: POOL, failed: located.sip.target.key, status: '503', key: 'x'.repeat(257) },
    });
    assert.equal(bad.sip.error.code, 'EINVALIDMSG');
  });
});
