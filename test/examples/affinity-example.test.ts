// Example 09 in Node-RED (node-red-node-test-helper), its static records moved to four real sipp servers on free
// ports (healthy, healthy2, busy with 503, silent): every caller fails over from carrier A to carrier B, keeps its
// server there on the next call, and the callers together use both of carrier B's servers.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { helper, NODES, nextMessage, type Flow } from '../nodes/helper';
import { skipUnlessSipp, startSipp, type RunningSipp } from '../servers/sipp';

const FILE = join(__dirname, '..', '..', 'examples', '09 - Sticky per caller across two carriers.json');
/** The lab ports the example's static records name, by server. */
const LAB_PORTS = { healthy: 15060, healthy2: 15061, busy: 15062, silent: 15063 } as const;
const SCENARIOS = { healthy: 'uas_options_200.xml', healthy2: 'uas_options_200.xml', busy: 'uas_options_503.xml', silent: 'uas_options_silent.xml' } as const;
type Name = keyof typeof LAB_PORTS;

describe('example 09: sticky per caller across two carriers', { skip: skipUnlessSipp() }, () => {
  const servers = new Map<Name, RunningSipp>();
  let flow: Flow;
  before(async () => {
    for (const name of Object.keys(LAB_PORTS) as Name[]) servers.set(name, await startSipp({ scenario: SCENARIOS[name], address: '127.0.0.1', transport: 'udp' }));
    const nodes = JSON.parse(readFileSync(FILE, 'utf8')) as Array<Record<string, unknown>>;
    flow = nodes.filter((n) => n.type !== 'inject' && n.type !== 'tab' && n.type !== 'comment').map((n) => {
      if (n.type === 'debug') return { id: n.id, type: 'helper', z: n.z };
      if (n.type !== 'sip-resolver') return n;
      // The lab's ports become the sipp servers' ports; UDP only, as sipp listens on UDP.
      let records = String(n.staticRecords);
      for (const name of Object.keys(LAB_PORTS) as Name[]) records = records.replaceAll(` ${LAB_PORTS[name]} `, ` ${servers.get(name)!.port} `);
      return { ...n, staticRecords: records, nameservers: '', addressLookup: 'dns', transports: 'udp' };
    }) as Flow;
  });
  after(async () => {
    for (const s of servers.values()) await s.stop();
  });
  afterEach(async () => helper.unload());

  test('alice, bob and carol fail over from carrier A to carrier B, keep their servers, and share both of B\'s', async () => {
    await helper.load([...NODES, require('../../src/nodes/sip-options')], flow);
    const locate = helper.getNode('a9c0000000000006');
    const answered = helper.getNode('a9c0000000000008');
    const portOf = new Map([...servers].map(([name, s]) => [s.port, name]));
    const call = async (caller: string): Promise<{ server: Name | undefined; attempt: number; key: string }> => {
      const got = nextMessage(answered, 30_000);
      locate.receive({ payload: 'set:carriers', caller });
      const msg = await got;
      return { server: portOf.get(msg.sip.target.port), attempt: msg.sip.attempt, key: msg.sip.affinityKey };
    };
    const first = new Map<string, Name | undefined>();
    for (const caller of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
      const r = await call(caller);
      assert.equal(r.key, caller);
      assert.ok(r.server === 'healthy' || r.server === 'healthy2', `${caller} answered by ${r.server}`);
      first.set(caller, r.server);
    }
    assert.equal(new Set(first.values()).size, 2, `six callers use both of carrier B's servers: ${[...first].join(' ')}`);
    for (const [caller, server] of first) {
      const again = await call(caller);
      assert.equal(again.server, server, `${caller} keeps its server`);
      assert.equal(again.attempt, 1, `${caller}'s pin answers at once`);
    }
  });
});
