// End to end: a real Kamailio asks a real Node-RED running example 06 (GET /route) where to send each request,
// over real BIND data, with sipp as the servers and as the caller. Failures are reported from Kamailio's failure_route.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnless } from '../servers/dns-servers';
import { skipUnlessSipp } from '../servers/sipp';
import { runSippUac } from '../servers/sipp-uac';
import { skipUnlessKamailio, type RunningKamailio } from '../servers/kamailio';
import { LAB_RESOLVER, startKamailioLab, type KamailioLab } from '../servers/kamailio-lab';
import type { NodeRedProcess } from '../servers/node-red';
import { until } from '../support/wait';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));
const skip = skipUnless('bind') || skipUnlessSipp() || skipUnlessKamailio() || (built ? false : 'run npm run build first');
const RESOLVER = LAB_RESOLVER;

interface Routed {
  method: string;
  callId: string;
  address: string;
}

describe('end to end: Kamailio + Node-RED (example 06) + BIND + sipp', { skip }, () => {
  let lab: KamailioLab;
  let red: NodeRedProcess;
  let kamailio: RunningKamailio;
  let auth: Record<string, string>;

  before(async () => {
    lab = await startKamailioLab();
    ({ red, kamailio, auth } = lab);
  });

  after(async () => {
    await lab?.stop();
  });

  /** The ROUTED lines Kamailio logged since `from` (a log offset), waiting until `count` are there. */
  async function routed(from: number, count: number): Promise<Routed[]> {
    let lines: Routed[] = [];
    const read = (): Routed[] => [...kamailio.log().slice(from).matchAll(/ROUTED (\w+) (\S+) sip:([0-9.]+):\d+;transport=udp/g)].map((m) => ({ method: m[1]!, callId: m[2]!, address: m[3]! }));
    // On a timeout the caller's assertion shows the lines that did come.
    await until(() => (lines = read()).length >= count, `${count} ROUTED lines`).catch(() => undefined);
    return lines;
  }
  async function state(): Promise<{ marks: Array<{ address: string; mark: string }>; pins: Array<{ destination: string; target: { address: string } }> }> {
    const res = await fetch(`${red.adminUrl}/sip-resolver/${RESOLVER}/state`);
    assert.equal(res.status, 200);
    return (await res.json()) as { marks: Array<{ address: string; mark: string }>; pins: Array<{ destination: string; target: { address: string } }> };
  }

  test('OPTIONS and INVITE/ACK/BYE reach a healthy server; sticky holds for 40 requests', async () => {
    const from = kamailio.log().length;
    const options = await runSippUac({ scenario: 'uac_proxy_options.xml', server: `127.0.0.1:${kamailio.port}`, domain: 'sticky.kam.test', calls: 40, rate: 200, limit: 1 });
    assert.equal(options.code, 0, `sipp: ${options.stderr}\n${kamailio.log().slice(-2000)}`);
    const calls = await runSippUac({ scenario: 'uac_proxy_invite.xml', server: `127.0.0.1:${kamailio.port}`, domain: 'sticky.kam.test', calls: 3, limit: 1 });
    assert.equal(calls.code, 0, `sipp: ${calls.stderr}\n${kamailio.log().slice(-2000)}`);
    const lines = await routed(from, 43);
    assert.equal(lines.filter((l) => l.method === 'OPTIONS').length, 40);
    assert.equal(lines.filter((l) => l.method === 'INVITE').length, 3, 'ACK and BYE follow the Record-Route set, without a lookup');
    const used = new Set(lines.map((l) => l.address));
    assert.equal(used.size, 1, `one server for all 43 requests: ${[...used].join(', ')}`);
    assert.ok(['127.0.0.101', '127.0.0.102'].includes([...used][0]!));
    const pin = (await state()).pins.find((x) => x.destination.includes('sticky.kam.test'));
    assert.equal(pin?.target.address, [...used][0]);
  });

  test('a 503 reported from failure_route blacklists that server and the INVITE completes on the next', async () => {
    const from = kamailio.log().length;
    const run = await runSippUac({ scenario: 'uac_proxy_invite.xml', server: `127.0.0.1:${kamailio.port}`, domain: 'busy.kam.test', calls: 1 });
    assert.equal(run.code, 0, `sipp: ${run.stderr}\n${kamailio.log().slice(-2000)}`);
    const lines = await routed(from, 2);
    assert.deepEqual(lines.map((l) => [l.method, l.address]), [['INVITE', '127.0.0.103'], ['INVITE', '127.0.0.101']]);
    assert.equal(lines[0]!.callId, lines[1]!.callId);
    assert.deepEqual((await state()).marks.filter((m) => m.address === '127.0.0.103').map((m) => m.mark), ['black']);
  });

  test('a silent server reported as a timeout greylists it and the request reaches the next', async () => {
    const from = kamailio.log().length;
    const run = await runSippUac({ scenario: 'uac_proxy_options.xml', server: `127.0.0.1:${kamailio.port}`, domain: 'silent.kam.test', calls: 1 });
    assert.equal(run.code, 0, `sipp: ${run.stderr}\n${kamailio.log().slice(-2000)}`);
    const lines = await routed(from, 2);
    assert.deepEqual(lines.map((l) => l.address), ['127.0.0.104', '127.0.0.102']);
    assert.deepEqual((await state()).marks.filter((m) => m.address === '127.0.0.104').map((m) => m.mark), ['grey']);
  });

  test('a report naming a target outside the destination is refused (400 ENOTATARGET) and marks nothing; no credentials, 401', async () => {
    const before = await state();
    const res = await fetch(`${red.url}/route?uri=${encodeURIComponent('sip:alice@sticky.kam.test')}&failed=udp:10.9.9.9:5060&status=503&retry_after=600`, { headers: auth });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'ENOTATARGET');
    assert.deepEqual(await state(), before);
    const anonymous = await fetch(`${red.url}/route?uri=${encodeURIComponent('sip:alice@sticky.kam.test')}`);
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 401);
  });

  test('each Kamailio process keeps one connection to Node-RED open from one lookup to the next (keep_connections applied)', async () => {
    const port = Number(new URL(red.url).port);
    const batch = async (): Promise<Map<string, number>> => {
      const run = await runSippUac({ scenario: 'uac_proxy_options.xml', server: `127.0.0.1:${kamailio.port}`, domain: 'sticky.kam.test', calls: 20, rate: 200, limit: 1 });
      assert.equal(run.code, 0, `sipp: ${run.stderr}`);
      return connectionsTo(kamailio.pid, port);
    };
    const first = await batch();
    const second = await batch();
    // Without keep_connections every lookup closes its connection: none would be left open.
    assert.ok(first.size >= 1, 'no connection to Node-RED left open after 20 lookups');
    for (const conns of [first, second]) {
      const perProcess = new Map<number, number>();
      for (const pid of conns.values()) perProcess.set(pid, (perProcess.get(pid) ?? 0) + 1);
      assert.ok([...perProcess.values()].every((n) => n === 1), `connections per Kamailio process: ${JSON.stringify([...perProcess])}`);
    }
    for (const c of first.keys()) assert.ok(second.has(c), 'a connection open after the first 20 lookups was closed by the next 20');
  });
});

/** The established TCP connections to 127.0.0.1:port held by Kamailio (`pid` and its children): socket inode → process. */
function connectionsTo(pid: number, port: number): Map<string, number> {
  const pids = [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)];
  const owner = new Map<string, number>();
  for (const p of pids) {
    for (const fd of readdirSync(`/proc/${p}/fd`)) {
      const link = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${p}/fd/${fd}`));
      if (link) owner.set(link[1]!, p);
    }
  }
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const found = new Map<string, number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // f[2] the remote address, f[3] the state (01 established), f[9] the socket inode.
    const p = owner.get(f[9] ?? '');
    if (f[2] === remote && f[3] === '01' && p !== undefined) found.set(f[9]!, p);
  }
  return found;
}

/** The target of a symbolic link, or '' when it went away meanwhile. */
function readlinkSafe(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
