// Durable state through a Node-RED context store: a real Node-RED with a localfilesystem store is stopped and
// started again; the marks and pins made before are still there afterwards and still expire on time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { until } from '../support/wait';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));
const skip = skipUnless('bind') || (built ? false : 'run npm run build first');

interface State {
  marks: Array<{ address: string; mark: string; expiresAt: number }>;
  pins: Array<{ destination: string; target: { address: string }; expiresAt: number }>;
  store: { kind: string; state: string };
}

/** http in -> sip-locate -> [sip-target-failed] -> http response; answers with the target and the sticky flag. */
function flows(nameserver: string, greylist: number, pinSeconds: number): unknown[] {
  const answer = (id: string): Record<string, unknown> => ({
    id,
    type: 'change',
    z: 'tab',
    rules: [
      {
        t: 'set',
        p: 'payload',
        pt: 'msg',
        to: '{"address": sip.target.address, "sticky": sip.sticky, "marks": sip.targets[mark].address}',
        tot: 'jsonata',
      },
    ],
    wires: [['resp']],
  });
  return [
    { id: 'tab', type: 'tab', label: 'context store' },
    {
      id: 'res',
      type: 'sip-resolver',
      nameservers: nameserver,
      transports: 'udp',
      family: 'ipv4',
      sticky: true,
      greylist,
      pinSeconds,
      store: 'context',
      contextStore: 'file',
    },
    {
      id: 'bad',
      type: 'sip-resolver',
      nameservers: nameserver,
      transports: 'udp',
      store: 'context',
      contextStore: 'nosuch',
    },
    { id: 'in-loc', type: 'http in', z: 'tab', url: '/loc', method: 'post', wires: [['loc']] },
    {
      id: 'loc',
      type: 'sip-locate',
      z: 'tab',
      resolver: 'res',
      uri: 'payload.uri',
      uriType: 'msg',
      wires: [['ans-loc'], ['ans-loc']],
    },
    answer('ans-loc'),
    { id: 'in-fail', type: 'http in', z: 'tab', url: '/fail', method: 'post', wires: [['loc2']] },
    {
      id: 'loc2',
      type: 'sip-locate',
      z: 'tab',
      resolver: 'res',
      uri: 'payload.uri',
      uriType: 'msg',
      wires: [['failed'], ['ans-fail']],
    },
    {
      id: 'failed',
      type: 'sip-target-failed',
      z: 'tab',
      resolver: 'res',
      reason: 'transport',
      wires: [['ans-fail'], ['ans-fail']],
    },
    answer('ans-fail'),
    { id: 'resp', type: 'http response', z: 'tab', statusCode: '', headers: {}, wires: [] },
  ];
}

describe('context state store: a real Node-RED with localfilesystem, stopped and started', { skip }, () => {
  let dns: RunningDnsServer;
  let dir: string;
  let userDir: string;
  let red: NodeRedProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sip-ctx-'));
    userDir = join(dir, 'nr');
    const zone = join(dir, 'ctx.test.zone');
    writeFileSync(
      zone,
      [
        '$ORIGIN ctx.test.',
        '$TTL 300',
        '@ IN SOA ns1 hostmaster 1 3600 600 86400 60',
        '  IN NS ns1',
        'ns1 IN A 127.0.0.1',
        '_sip._udp.pbx IN SRV 10 50 5060 a',
        '_sip._udp.pbx IN SRV 10 50 5060 b',
        'a IN A 127.0.0.81',
        'b IN A 127.0.0.82',
        '',
      ].join('\n'),
    );
    dns = await startDnsServer('bind', { zones: [{ origin: 'ctx.test', file: zone }] });
  });
  after(async () => {
    await red?.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function post(path: string): Promise<{ address: string; sticky: boolean; marks?: string | string[] }> {
    const res = await fetch(`${red!.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: 'sip:alice@pbx.ctx.test' }),
      signal: AbortSignal.timeout(10000),
    });
    assert.equal(res.status, 200, path);
    return (await res.json()) as { address: string; sticky: boolean };
  }
  async function state(): Promise<State> {
    const res = await fetch(`${red!.url}/sip-resolver/res/state`);
    assert.equal(res.status, 200);
    return (await res.json()) as State;
  }
  async function routesUp(): Promise<void> {
    await until(async () => {
      const res = await fetch(`${red!.url}/loc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"uri":"sip:nothing.ctx.test"}',
      });
      await res.arrayBuffer();
      return res.status === 200;
    }, '/loc comes up');
  }

  test('pins and marks survive a restart of Node-RED and expire when they were due', async () => {
    const greylist = 14;
    const pinSeconds = 18;
    red = await startNodeRedProcess([], {}, { userDir });
    await red.deploy(flows(dns.nameserver, greylist, pinSeconds));
    await routesUp();
    const bad = await fetch(`${red.url}/sip-resolver/bad/try`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"uri":"sip:pbx.ctx.test"}',
    });
    assert.equal(bad.status, 409);
    const badBody = (await bad.json()) as { code: string; message: string };
    assert.equal(badBody.code, 'EINVALIDOPTION');
    assert.match(
      badBody.message,
      /no context store named "nosuch".*default, file/,
      'the stores settings.js has are listed',
    );
    const first = await post('/loc');
    assert.equal(first.sticky, true);
    const failedOver = await post('/fail');
    assert.notEqual(failedOver.address, first.address, 'the failure moved the pin');
    const before = await state();
    assert.equal(before.store.kind, 'context');
    assert.deepEqual(
      before.marks.map((m) => `${m.address} ${m.mark}`),
      [`${first.address} grey`],
    );
    assert.deepEqual(
      before.pins.map((p) => p.target.address),
      [failedOver.address],
    );
    const pidBefore = red.pid;

    await red.stop();
    red = await startNodeRedProcess(undefined, {}, { userDir });
    assert.notEqual(red.pid, pidBefore, 'a new process');
    // The editor's HTTP server is up before the flows are started: the resolver answers 404 (ENOTDEPLOYED) until then.
    await until(async () => {
      const res = await fetch(`${red!.url}/sip-resolver/res/state`);
      await res.arrayBuffer();
      return res.status === 200;
    }, 'the restarted resolver is deployed');
    let restored = await state();
    await until(async () => (restored = await state()).store.state !== 'connecting', 'the store is read back').catch(
      () => undefined,
    );
    assert.equal(restored.store.state, 'up', 'the store was read back');
    assert.deepEqual(restored.marks, before.marks, 'the same marks, with the same expiry');
    assert.deepEqual(
      restored.pins.map((p) => [p.destination, p.target.address, p.expiresAt]),
      before.pins.map((p) => [p.destination, p.target.address, p.expiresAt]),
    );

    // Expiry on time: poll the state; each record must vanish at (not before) its expiry.
    const markDue = before.marks[0]!.expiresAt;
    const pinDue = before.pins[0]!.expiresAt;
    let seen: State = restored;
    // Timers never fire early, so "not before its expiry" holds on any machine; "promptly" is shown by order: the mark
    // (due first) goes while the pin is still there.
    const watch = async (cond: (s: State) => boolean, what: string): Promise<number> => {
      await until(async () => cond((seen = await state())), { what, ms: 60_000 });
      return Date.now();
    };
    assert.ok(markDue < pinDue, 'the mark is due before the pin');
    const markGone = await watch((s) => s.marks.length === 0, 'the mark expires');
    assert.ok(markGone >= markDue, `the mark lasted until its expiry (${markGone} >= ${markDue})`);
    assert.equal(seen.pins.length, 1, 'the pin is still there');
    const pinGone = await watch((s) => s.pins.length === 0, 'the pin expires');
    assert.ok(pinGone >= pinDue, `the pin lasted until its expiry (${pinGone - pinDue} ms)`);
    const fresh = await post('/loc');
    assert.equal(fresh.sticky, true, 'a new pin is made');
    assert.ok(!fresh.marks || (Array.isArray(fresh.marks) && fresh.marks.length === 0), 'no marks left');
  });
});
