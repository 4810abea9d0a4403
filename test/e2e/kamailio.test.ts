// End to end: a real Kamailio asks a real Node-RED running example 06 (GET /route) where to send each request,
// over real BIND data, with sipp as the servers and as the caller. Failures are reported from Kamailio's failure_route.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { skipUnlessSipp, startSipp, type RunningSipp } from '../servers/sipp';
import { runSippUac } from '../servers/sipp-uac';
import { skipUnlessKamailio, startKamailio, type RunningKamailio } from '../servers/kamailio';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { freePort } from '../servers/ports';

const root = join(__dirname, '..', '..');
const built = existsSync(join(root, 'dist', 'nodes', 'sip-locate.js'));
const skip = skipUnless('bind') || skipUnlessSipp() || skipUnlessKamailio() || (built ? false : 'run npm run build first');
const EXAMPLE = join(root, 'examples', '06 - HTTP lookup for a SIP proxy.json');
const RESOLVER = 'a6c000000000000a';
const PASSWORD = 'proxy-test-secret';

interface Routed {
  method: string;
  callId: string;
  address: string;
}

describe('end to end: Kamailio + Node-RED (example 06) + BIND + sipp', { skip }, () => {
  const sipp: RunningSipp[] = [];
  const at = new Map<string, RunningSipp>();
  let dns: RunningDnsServer;
  let red: NodeRedProcess;
  let kamailio: RunningKamailio;
  let dir: string;
  let deadPort: number;
  const auth = { authorization: `Basic ${Buffer.from(`kamailio:${PASSWORD}`).toString('base64')}` };

  before(async () => {
    const start = async (name: string, scenario: string, address: string): Promise<void> => {
      const s = await startSipp({ scenario, address, transport: 'udp' });
      sipp.push(s);
      at.set(name, s);
    };
    await start('ok1', 'uas_proxy_200.xml', '127.0.0.101');
    await start('ok2', 'uas_proxy_200.xml', '127.0.0.102');
    await start('busy', 'uas_proxy_503.xml', '127.0.0.103');
    deadPort = await freePort('127.0.0.104');
    dir = mkdtempSync(join(tmpdir(), 'sip-kamailio-e2e-'));
    const zone = join(dir, 'kam.test.zone');
    const p = (n: string): number => at.get(n)!.port;
    writeFileSync(zone, [
      '$ORIGIN kam.test.', '$TTL 300', '@ IN SOA ns1 hostmaster 1 3600 600 86400 60', '  IN NS ns1', 'ns1 IN A 127.0.0.1',
      `_sip._udp.sticky IN SRV 10 50 ${p('ok1')} ok1`, `_sip._udp.sticky IN SRV 10 50 ${p('ok2')} ok2`,
      `_sip._udp.busy IN SRV 10 0 ${p('busy')} busy`, `_sip._udp.busy IN SRV 20 0 ${p('ok1')} ok1`,
      `_sip._udp.silent IN SRV 10 0 ${deadPort} dead`, `_sip._udp.silent IN SRV 20 0 ${p('ok2')} ok2`,
      'ok1 IN A 127.0.0.101', 'ok2 IN A 127.0.0.102', 'busy IN A 127.0.0.103', 'dead IN A 127.0.0.104', '',
    ].join('\n'));
    dns = await startDnsServer('bind', { zones: [{ origin: 'kam.test', file: zone }] });
    const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };
    red = await startNodeRedProcess(JSON.parse(readFileSync(EXAMPLE, 'utf8')) as unknown[], {
      SIP_LOCATE_NAMESERVERS: dns.nameserver,
      SIP_LOCATE_HTTP_NODE_AUTH: JSON.stringify({ user: 'kamailio', pass: bcrypt.hashSync(PASSWORD, 4) }),
    });
    // The http-in route exists once an unknown name answers with the flow's own 404 body.
    const deadline = Date.now() + 15000;
    for (;;) {
      const res = await fetch(`${red.url}/route?uri=${encodeURIComponent('sip:ready@nothere.kam.test')}`, { headers: auth });
      const body = await res.text();
      if (res.status === 404 && body.includes('ENOTFOUND')) break;
      if (Date.now() > deadline) throw new Error(`/route did not come up: HTTP ${res.status} ${body.slice(0, 200)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const cfg = readFileSync(join(root, 'test', 'kamailio', 'kamailio.cfg'), 'utf8');
    kamailio = await startKamailio(cfg, [['127.0.0.1:1880', red.url.replace('http://', '')], ['CHANGE-ME', PASSWORD]]);
  });

  after(async () => {
    await kamailio?.stop();
    await red?.stop();
    for (const s of sipp) await s.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The ROUTED lines Kamailio logged since `from` (a log offset), waiting until `count` are there. */
  async function routed(from: number, count: number): Promise<Routed[]> {
    const deadline = Date.now() + 10000;
    for (;;) {
      const lines = [...kamailio.log().slice(from).matchAll(/ROUTED (\w+) (\S+) sip:([0-9.]+):\d+;transport=udp/g)].map((m) => ({ method: m[1]!, callId: m[2]!, address: m[3]! }));
      if (lines.length >= count || Date.now() > deadline) return lines;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async function state(): Promise<{ marks: Array<{ address: string; mark: string }>; pins: Array<{ destination: string; target: { address: string } }> }> {
    const res = await fetch(`${red.url}/sip-resolver/${RESOLVER}/state`);
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
});
