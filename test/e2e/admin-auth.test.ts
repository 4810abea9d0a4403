// The Try-it admin endpoint behind Node-RED's adminAuth, in a real Node-RED process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { COUNTED } from '../support/counting';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));

describe('Try-it endpoint with adminAuth on', { skip: built ? false : 'run npm run build first' }, () => {
  let red: NodeRedProcess;
  let dns: { nameserver: string; queries: number; stop(): Promise<void> };
  before(async () => {
    const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };
    const hash = bcrypt.hashSync('secret', 4);
    const zone = await import('../../demo/dns-server.mjs');
    dns = await zone.startZoneServer({
      address: '127.0.0.1',
      port: 0,
      origin: 'demo.test',
      records: zone.demoZone('demo.test', {
        healthy: { address: '127.0.0.11', port: 5060 },
        healthy2: { address: '127.0.0.12', port: 5060 },
        busy: { address: '127.0.0.13', port: 5060 },
        silent: { address: '127.0.0.14', port: 5060 },
      }),
    });
    red = await startNodeRedProcess(
      [
        { id: 'tab1', type: 'tab', label: 't' },
        // The test counts the questions the zone server gets: COUNTED unticks the resolver's adaptive timer.
        {
          id: 'res1',
          type: 'sip-resolver',
          nameservers: dns.nameserver,
          transports: 'udp',
          family: 'ipv4',
          ...COUNTED,
        },
      ],
      {
        SIP_LOCATE_ADMIN_AUTH: JSON.stringify({
          type: 'credentials',
          users: [
            { username: 'admin', password: hash, permissions: '*' },
            { username: 'viewer', password: hash, permissions: 'read' },
          ],
        }),
      },
    );
  });
  after(async () => {
    await red?.stop();
    await dns?.stop();
  });

  async function token(username: string): Promise<string> {
    const res = await fetch(`${red.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=node-red-admin&grant_type=password&scope=${username === 'admin' ? '*' : 'read'}&username=${username}&password=secret`,
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { access_token: string }).access_token;
  }
  const tryIt = (body: unknown, auth?: string, id = 'res1'): Promise<Response> =>
    fetch(`${red.url}/sip-resolver/${id}/try`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
      body: JSON.stringify(body),
    });

  test("refused (401, Node-RED's answer) for anonymous callers and for a read-only user; read-only may read state; an admin gets the tree", async () => {
    assert.equal((await tryIt({ uri: 'sip:pbx.demo.test' })).status, 401);
    const viewer = await token('viewer');
    assert.equal((await tryIt({ uri: 'sip:pbx.demo.test' }, viewer)).status, 401, 'sip-resolver.write is missing');
    const state = await fetch(`${red.url}/sip-resolver/res1/state`, { headers: { authorization: `Bearer ${viewer}` } });
    assert.equal(state.status, 200, 'reading marks and pins needs only read permission');
    const before = (await state.json()) as {
      nameservers: Array<{ address: string; state: string; consecutiveFailures: number }>;
    };
    assert.deepEqual(
      before.nameservers.map((n) => [n.address, n.state, n.consecutiveFailures]),
      [[dns.nameserver, 'healthy', 0]],
    );
    const reset = await fetch(`${red.url}/sip-resolver/res1/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer}` },
    });
    assert.equal(reset.status, 401);
    const admin = await token('admin');
    const ok = await tryIt({ uri: 'sip:pbx.demo.test' }, admin);
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as {
      ok: boolean;
      result: { trace: { children: Array<{ type?: string }> }; targets: unknown[] };
      nameservers: Array<{ address: string; state: string }>;
    };
    assert.equal(body.ok, true);
    assert.deepEqual(
      body.nameservers.map((n) => [n.address, n.state]),
      [[dns.nameserver, 'healthy']],
    );
    assert.equal(body.result.targets.length, 3);
    assert.ok(body.result.trace.children.some((c) => c.type === 'NAPTR'));
  });

  test('malformed or oversized input gets 400 with a clear message; it cannot choose nameservers', async () => {
    const admin = await token('admin');
    for (const body of [{}, { uri: 42 }, { uri: 'x'.repeat(3000) }, { uri: 'ftp://x' }]) {
      const res = await tryIt(body, admin);
      assert.equal(res.status, 400, JSON.stringify(body).slice(0, 40));
      const b = (await res.json()) as { code?: string; error?: { code: string }; message?: string };
      assert.equal(b.code ?? b.error?.code, 'EINVALIDURI');
    }
    assert.equal((await tryIt({ uri: 'sip:pbx.demo.test' }, admin)).status, 200);
    const before = dns.queries;
    const res = await tryIt({ uri: 'sip:pbx.demo.test', nameservers: ['127.0.0.99:53'] }, admin);
    assert.equal(res.status, 200);
    assert.equal(dns.queries, before, 'answered from the configured server cache; the nameservers field is ignored');
    const notDeployed = await tryIt({ uri: 'sip:pbx.demo.test' }, admin, 'no-such-node');
    assert.equal(notDeployed.status, 404);
  });
});
