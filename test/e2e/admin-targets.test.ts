// Operator control through the admin API in two real Node-RED processes (adminAuth on) sharing a real redis-server:
// POST /sip-resolver/:id/targets needs sip-resolver.write, bad input is 400 EINVALIDMSG, an unknown resolver is 404
// ENOTDEPLOYED; a drain or disable made on one instance is obeyed by the other; GET /metrics parses as Prometheus text.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { parseExposition } from '../metrics/exposition';
import { until } from '../support/wait';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-events.js'));
const skip = skipUnlessRedis() || (built ? false : 'run npm run build first');
// Fixed priorities, so the order without operator states is .71, .72, .73.
const STATIC = [
  '_sip._udp.pbx.ops.test. 300 IN SRV 10 1 5060 a.ops.test.',
  '_sip._udp.pbx.ops.test. 300 IN SRV 20 1 5060 b.ops.test.',
  '_sip._udp.pbx.ops.test. 300 IN SRV 30 1 5060 c.ops.test.',
  'a.ops.test. 300 IN A 127.0.0.71',
  'b.ops.test. 300 IN A 127.0.0.72',
  'c.ops.test. 300 IN A 127.0.0.73',
  'pbx.ops.test. 300 IN NAPTR 10 10 "S" "SIP+D2U" "" _sip._udp.pbx.ops.test.',
].join('\n');
const T = (last: number): Record<string, unknown> => ({ transport: 'udp', address: `127.0.0.${last}`, port: 5060 });

describe('operator control: admin API, adminAuth, two instances on one Redis', { skip }, () => {
  let redis: RunningRedis;
  let a: NodeRedProcess;
  let b: NodeRedProcess;
  const tokens = new Map<string, string>();

  before(async () => {
    redis = await startRedis();
    const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };
    const hash = bcrypt.hashSync('secret', 4);
    const flows = [
      { id: 'tab1', type: 'tab', label: 't' },
      {
        id: 'res1',
        type: 'sip-resolver',
        nameservers: '127.0.0.1:9',
        staticRecords: STATIC,
        transports: 'udp',
        family: 'ipv4',
        sticky: true,
        store: 'redis',
        redisUrl: redis.url,
        redisPrefix: 'e2e-ops',
      },
    ];
    const env = {
      SIP_LOCATE_ADMIN_AUTH: JSON.stringify({
        type: 'credentials',
        users: [
          { username: 'admin', password: hash, permissions: '*' },
          { username: 'viewer', password: hash, permissions: 'read' },
        ],
      }),
    };
    [a, b] = await Promise.all([startNodeRedProcess(flows, env), startNodeRedProcess(flows, env)]);
    for (const red of [a, b]) {
      await until(async () => (await state(red)).store.state === 'up', 'the Redis store comes up');
    }
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  async function token(red: NodeRedProcess, username: string): Promise<string> {
    const key = `${red.url} ${username}`;
    const known = tokens.get(key);
    if (known) return known;
    const res = await fetch(`${red.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=node-red-admin&grant_type=password&scope=${username === 'admin' ? '*' : 'read'}&username=${username}&password=secret`,
    });
    assert.equal(res.status, 200);
    const t = ((await res.json()) as { access_token: string }).access_token;
    tokens.set(key, t);
    return t;
  }
  async function state(red: NodeRedProcess): Promise<{
    admin: Array<{ address: string; state: string; expiresAt?: number }>;
    store: { state: string };
    nameservers: unknown[];
    marks: unknown[];
    pins: unknown[];
  }> {
    const res = await fetch(`${red.url}/sip-resolver/res1/state`, {
      headers: { authorization: `Bearer ${await token(red, 'viewer')}` },
    });
    assert.equal(res.status, 200);
    return (await res.json()) as never;
  }
  const setTarget = async (
    red: NodeRedProcess,
    body: unknown,
    user: string | null = 'admin',
    id = 'res1',
  ): Promise<Response> =>
    fetch(`${red.url}/sip-resolver/${id}/targets`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(user ? { authorization: `Bearer ${await token(red, user)}` } : {}),
      },
      body: JSON.stringify(body),
    });
  async function order(red: NodeRedProcess): Promise<string[]> {
    const res = await fetch(`${red.url}/sip-resolver/res1/try`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token(red, 'admin')}` },
      body: JSON.stringify({ uri: 'sip:pbx.ops.test' }),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { result: { targets: Array<{ address: string }> } }).result.targets.map(
      (t) => t.address,
    );
  }
  /** Waits until `red` reports the operator states `want` (address:state); on a timeout, asserts what it shows. */
  async function adminOn(red: NodeRedProcess, want: string[]): Promise<void> {
    let got: string[] = [];
    const follows = async (): Promise<boolean> =>
      JSON.stringify((got = (await state(red)).admin.map((x) => `${x.address}:${x.state}`))) === JSON.stringify(want);
    await until(follows, 'the other instance follows').catch(() =>
      assert.deepEqual(got, want, 'the other instance did not follow'),
    );
  }

  test('writing needs sip-resolver.write (401 anonymous and read-only); reading state and metrics needs read', async () => {
    assert.equal((await setTarget(a, { ...T(71), state: 'drain' }, null)).status, 401);
    assert.equal((await setTarget(a, { ...T(71), state: 'drain' }, 'viewer')).status, 401);
    assert.equal((await fetch(`${a.url}/sip-resolver/res1/metrics`)).status, 401);
    const s = await state(a);
    assert.deepEqual(s.admin, []);
    assert.equal(s.nameservers.length, 1);
    const res = await fetch(`${a.url}/sip-resolver/res1/metrics`, {
      headers: { authorization: `Bearer ${await token(a, 'viewer')}` },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain;.*version=0\.0\.4/);
    const families = parseExposition(await res.text());
    assert.deepEqual(
      families
        .get('sip_locate_store_state')
        ?.samples.filter((x) => x.value === 1)
        .map((x) => [x.labels.kind, x.labels.state]),
      [['redis', 'up']],
    );
    assert.equal(families.get('sip_locate_locates_total')?.type, 'counter');
    assert.equal(
      (
        await fetch(`${a.url}/sip-resolver/nothing-here/metrics`, {
          headers: { authorization: `Bearer ${await token(a, 'viewer')}` },
        })
      ).status,
      404,
    );
  });

  test('bad input is 400 EINVALIDMSG and changes nothing; an unknown resolver is 404 ENOTDEPLOYED', async () => {
    for (const body of [
      [],
      {},
      { ...T(71) },
      { ...T(71), state: 'maintenance' },
      { ...T(71), address: 'a.ops.test', state: 'drain' },
      { ...T(71), address: '127.0.0.71\r\nX: 1', state: 'drain' },
      { ...T(71), port: 70000, state: 'drain' },
      { ...T(71), transport: 'smtp', state: 'drain' },
      { ...T(71), state: 'drain', seconds: -5 },
      { ...T(71), state: 'drain', seconds: '60' },
    ]) {
      const res = await setTarget(a, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(((await res.json()) as { code: string }).code, 'EINVALIDMSG');
    }
    assert.deepEqual((await state(a)).admin, []);
    const res = await setTarget(a, { ...T(71), state: 'drain' }, 'admin', 'no-such-node');
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'ENOTDEPLOYED');
  });

  test('a drain or disable made on one instance is obeyed by the other, and so is enable', async () => {
    assert.deepEqual(await order(b), ['127.0.0.71', '127.0.0.72', '127.0.0.73']);
    const drained = await setTarget(a, { ...T(71), state: 'drain', seconds: 600 });
    assert.equal(drained.status, 200);
    const body = (await drained.json()) as { ok: boolean; target: { state: string; expiresAt: number } };
    assert.equal(body.target.state, 'drain');
    await adminOn(b, ['127.0.0.71:drain']);
    assert.ok(
      Math.abs((await state(b)).admin[0]!.expiresAt! - body.target.expiresAt) < 2000,
      'the expiry travels with it',
    );
    assert.deepEqual(
      await order(b),
      ['127.0.0.72', '127.0.0.73', '127.0.0.71'],
      'B lists the drained target after the healthy ones',
    );
    assert.equal((await setTarget(b, { ...T(72), state: 'disable' })).status, 200);
    await adminOn(a, ['127.0.0.71:drain', '127.0.0.72:disable']);
    assert.deepEqual(await order(a), ['127.0.0.73', '127.0.0.71'], 'A skips the target B disabled');
    for (const n of [71, 72]) assert.equal((await setTarget(a, { target: T(n), state: 'enable' })).status, 200);
    await adminOn(b, []);
    assert.deepEqual(await order(b), ['127.0.0.71', '127.0.0.72', '127.0.0.73']);
  });
});
