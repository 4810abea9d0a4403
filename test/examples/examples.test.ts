// Every example flow in a real Node-RED with no SIP_LOCATE_NAMESERVERS (the system's DNS, unreachable under the
// loopback guard): the demo.test names come from the resolvers' static records, the SIP servers from the lab
// (src/lab.ts, what `sip-locate lab` runs) on free ports, the static records moved to them (withLabPort).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { freePortBlock } from '../servers/ports';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { until } from '../support/wait';
import { labStaticRecords, startLabEndpoints, withLabPort, type Endpoint, type EndpointName } from '../../src/lab';

/** address:port of a target or endpoint (the lab endpoints share 127.0.0.1 and differ by port). */
const at = (t: { address: string; port: number }): string => `${t.address}:${t.port}`;
const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));
const dir = join(__dirname, '..', '..', 'examples');
type FlowNode = { id: string; type: string; z?: string; name?: string; staticRecords?: string; nameservers?: string };
/** Each example file's nodes. */
const examples = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ file: f, nodes: JSON.parse(readFileSync(join(dir, f), 'utf8')) as FlowNode[] }));
/** The "SIP servers" debug node of every example that needs the lab's SIP servers (its status says what to start). */
const HINTS = ['a2c00000000000f3', 'a3c00000000000f3', 'a5c00000000000f3', 'a7c00000000000f3', 'e7c00000000000f3', 'a8c00000000000f3'];

test('every example resolver but 06\'s carries the lab\'s zone as static records and takes nameservers from SIP_LOCATE_NAMESERVERS', () => {
  const resolvers = examples.filter((e) => !e.file.startsWith('06')).flatMap((e) => e.nodes.filter((n) => n.type === 'sip-resolver'));
  assert.equal(new Set(resolvers.map((r) => r.id)).size, 6);
  for (const r of resolvers) assert.deepEqual([r.id, r.staticRecords, r.nameservers], [r.id, labStaticRecords(), '${SIP_LOCATE_NAMESERVERS}']);
});

/**
 * The canvas the editor shows at 1600x1000 with the palette and the sidebar open: about 1050 x 800 px from the
 * origin. A node's width is estimated from its label (about 8.5 px a character, plus icon, ports and padding;
 * a comment's italic label about 7.2 px).
 */
const CANVAS = { width: 1050, height: 800 };
function labelOf(n: FlowNode & { payload?: string; complete?: string }): string {
  if (n.name) return n.name;
  if (n.type === 'inject') return n.payload && n.payload.length < 24 ? n.payload : 'inject';
  if (n.type === 'debug') return n.complete === 'true' ? 'msg' : `msg.${n.complete ?? 'payload'}`;
  return n.type;
}

test('every node and comment of the examples (but 06) lies whole on the canvas the editor shows at 1600x1000', () => {
  for (const e of examples.filter((x) => !x.file.startsWith('06'))) {
    for (const n of e.nodes as Array<FlowNode & { x?: number; y?: number }>) {
      if (n.x === undefined || n.y === undefined) continue;
      const width = n.type === 'comment' ? labelOf(n).length * 7.2 + 50 : Math.max(100, labelOf(n).length * 8.5 + 70);
      assert.ok(n.x - width / 2 >= 0 && n.x + width / 2 <= CANVAS.width && n.y >= 0 && n.y + 15 <= CANVAS.height, `${e.file}: ${n.type} "${labelOf(n)}" at ${n.x},${n.y} (${Math.round(width)} px wide)`);
    }
  }
});

describe('example flows in a real Node-RED', { skip: skipUnlessRedis() || (built ? false : 'run npm run build first') }, () => {
  let red: NodeRedProcess;
  let redis: RunningRedis;
  let endpoints: Record<EndpointName, Endpoint>;
  before(async () => {
    const nr = await import('../../demo/node-red.mjs');
    endpoints = await startLabEndpoints(await freePortBlock(4));
    redis = await startRedis();
    red = await startNodeRedProcess(withLabPort((await nr.exampleFlows()) as FlowNode[], endpoints.healthy.port), { SIP_LOCATE_REDIS_URL: redis.url });
  });
  after(async () => {
    await red?.stop();
    await redis?.stop();
    for (const e of Object.values(endpoints ?? {})) await e.stop();
  });

  test('deployed: no node is red; each "SIP servers" node says in grey what to start; the unset SIP_LOCATE_NAMESERVERS is named in the log', async () => {
    const latest = (id: string) => red.statuses.filter((s) => s.id === id).at(-1);
    await until(() => HINTS.every((id) => latest(id)?.fill === 'grey'), 'every "SIP servers" node has a status');
    for (const id of HINTS) assert.deepEqual({ ...latest(id) }, { id, fill: 'grey', shape: 'ring', text: 'start: npx sip-locate lab' });
    assert.deepEqual(red.statuses.filter((s) => s.fill === 'red'), []);
    assert.match(red.log(), /The setting nameservers names the environment variable SIP_LOCATE_NAMESERVERS, which is not set/);
  });

  test('01, 02 and 04 share one "demo.test" resolver by id (one entry in the editor\'s dropdowns); the demo deploys it once', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = join(__dirname, '..', '..', 'examples');
    const byName = new Map<string, Set<string>>();
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
      for (const n of JSON.parse(readFileSync(join(dir, f), 'utf8')) as Array<{ id: string; type: string; name?: string }>) {
        if (n.type === 'sip-resolver') byName.set(n.name ?? '', new Set([...(byName.get(n.name ?? '') ?? []), n.id]));
      }
    }
    for (const [name, ids] of byName) assert.equal(ids.size, 1, `resolvers named "${name}" have one id, not ${[...ids].join(', ')}`);
    const nr = await import('../../demo/node-red.mjs');
    const ids = ((await nr.exampleFlows()) as Array<{ id: string }>).map((n) => n.id);
    assert.equal(new Set(ids).size, ids.length, 'no id twice in the demo flows');
  });

  test('01: a URI is located from the static records (msg.sip with the failover order); sips: without a TLS server ends on output 2', async () => {
    const found = red.waitDebug('a1c0000000000006');
    await red.inject('a1c0000000000003');
    const sip = (await found).msg as { target: { address: string }; targets: Array<{ address: string; port: number }>; attempt: number };
    assert.equal(sip.targets.length, 3);
    assert.equal(at(sip.targets[2]!), at(endpoints.healthy), 'the healthy server has the higher priority number');
    assert.deepEqual(new Set(sip.targets.slice(0, 2).map(at)), new Set([at(endpoints.busy), at(endpoints.silent)]));
    assert.equal(sip.attempt, 1);
    const missing = red.waitDebug('a1c0000000000007');
    await red.inject('a1c0000000000004');
    assert.equal(((await missing).msg as { code: string }).code, 'ENOTRANSPORT', 'sips: needs TLS, which pbx.demo.test does not offer');
  });

  test('02: failover through 503 and silence to the healthy server; the next message goes straight there', async () => {
    const answered = red.waitDebug('a2c0000000000006');
    await red.inject('a2c0000000000003');
    const first = (await answered).msg as { target: { address: string; port: number }; attempt: number; response: { status: number } };
    assert.equal(at(first.target), at(endpoints.healthy));
    assert.equal(first.attempt, 3);
    assert.equal(first.response.status, 200);
    const again = red.waitDebug('a2c0000000000006');
    await red.inject('a2c0000000000003');
    const second = (await again).msg as { target: { address: string; port: number }; attempt: number };
    assert.deepEqual([at(second.target), second.attempt], [at(endpoints.healthy), 1], 'marks are shared between messages');
    await until(() => red.statuses.filter((s) => s.id === 'a2c00000000000f3').at(-1)?.fill === 'green', 'the "SIP servers" node turns green');
    assert.equal(red.statuses.filter((s) => s.id === 'a2c00000000000f3').at(-1)?.text, 'SIP servers answer');
  });

  test('03: sticky mode keeps REGISTER, re-REGISTER and INVITE on one server; the debug node shows msg.sip.sticky', async () => {
    const used: string[] = [];
    for (const inject of ['a3c0000000000003', 'a3c0000000000004', 'a3c0000000000005', 'a3c0000000000003', 'a3c0000000000005']) {
      const got = red.waitDebug('a3c0000000000008');
      await red.inject(inject);
      const sip = (await got).msg as { target: { address: string; port: number }; sticky: boolean };
      assert.equal(sip.sticky, true, 'the comment promises msg.sip.sticky');
      used.push(at(sip.target));
    }
    assert.equal(new Set(used).size, 1, used.join(', '));
    assert.ok([at(endpoints.healthy), at(endpoints.healthy2)].includes(used[0]!));
  });

  test('04: dial strings for Asterisk, FreeSWITCH and jambonz point at the server that answered', async () => {
    const got = red.waitDebug('a5c0000000000007', 20000);
    await red.inject('a5c0000000000003');
    const dial = (await got).msg as { asterisk: string; freeswitch: string; jambonz: { sipUri: string } };
    const port = endpoints.healthy.port;
    assert.equal(dial.asterisk, `PJSIP/alice@127.0.0.1:${port}`);
    assert.equal(dial.freeswitch, `sofia/external/alice@127.0.0.1:${port};transport=udp`);
    assert.equal(dial.jambonz.sipUri, `sip:alice@127.0.0.1:${port};transport=udp`);
  });

  test('05: the Redis-backed sticky resolver keeps one server, and the pin is in Redis for other instances', async () => {
    const used: string[] = [];
    for (const inject of ['a7c0000000000003', 'a7c0000000000004', 'a7c0000000000005']) {
      const got = red.waitDebug('a7c0000000000008');
      await red.inject(inject);
      used.push(at((await got).msg as { address: string; port: number }));
    }
    assert.equal(new Set(used).size, 1, used.join(', '));
    const keys = await redis.command('KEYS sip-locate-demo:pin:*');
    assert.match(keys, /sip-locate-demo:pin:sip:registrar\.demo\.test/);
    const state = (await (await fetch(`${red.url}/sip-resolver/a7c0000000000009/state`)).json()) as { store: { kind: string; state: string } };
    assert.deepEqual([state.store.kind, state.store.state], ['redis', 'up']);
  });

  test('07: a number in ENUM fails over to the healthy server; a number not in ENUM goes to the gateway template', async () => {
    const answered = red.waitDebug('e7c0000000000007', 20000);
    await red.inject('e7c0000000000003');
    const first = (await answered).msg as { uri: string; enum: Record<string, unknown>; target: { address: string; port: number }; attempt: number; response: { status: number } };
    assert.deepEqual(first.enum, { number: '+12025550101', domain: '1.0.1.0.5.5.5.2.0.2.1.e164.demo.test', uri: 'sip:12025550101@pbx.demo.test', order: 10, preference: 10 });
    assert.deepEqual([at(first.target), first.attempt, first.response.status], [at(endpoints.healthy), 3, 200], 'busy, silent, then healthy');
    const gateway = red.waitDebug('e7c0000000000007', 20000);
    await red.inject('e7c0000000000004');
    const second = (await gateway).msg as { enum: Record<string, unknown>; target: { port: number } };
    assert.deepEqual(second.enum, { number: '+49301234567', uri: 'sip:+49301234567@gateway.demo.test', fallback: true });
    assert.equal(second.target.port, endpoints.healthy2.port);
  });
});
