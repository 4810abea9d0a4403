// The SIP sidebar's data paths in a real Node-RED process with adminAuth: comms carries only "resolver X changed"
// notices (a status-only user, who may connect to comms, sees no address, mark or pin), the snapshot comes from the
// permission-checked endpoint in pages with totals, and the targets endpoint refuses what it would never match.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { until } from '../support/wait';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-sidebar.js'));
const STATIC = ['_sip._udp.pbx.sb.test. 300 IN SRV 10 1 5060 a.sb.test.', 'a.sb.test. 300 IN A 127.0.0.81'].join('\n');
/** The page size of src/nodes/sidebar-feed.ts (SIDEBAR_PAGE). */
const PAGE = 200;

/** A comms client that signs in with a token and records every frame of the sidebar topic. */
async function commsClient(
  red: NodeRedProcess,
  token: string,
): Promise<{ frames: Array<{ topic: string; data: unknown }>; raw: string[]; close(): void }> {
  const ws = new WebSocket(red.adminUrl.replace('http', 'ws') + '/comms');
  const frames: Array<{ topic: string; data: unknown }> = [];
  const raw: string[] = [];
  let authed = false;
  ws.on('message', (data: Buffer) => {
    const text = data.toString();
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) {
      if ((parsed as { auth?: string }).auth === 'ok') authed = true;
      return;
    }
    for (const f of parsed as Array<{ topic: string; data: unknown }>) {
      if (!f.topic.startsWith('sip-locate/')) continue;
      raw.push(JSON.stringify(f));
      frames.push(f);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ auth: token }));
  await until(() => authed, 'comms sign-in');
  ws.send(JSON.stringify({ subscribe: 'sip-locate/state/#' }));
  return { frames, raw, close: () => ws.close() };
}

describe('sidebar and admin endpoints with adminAuth', { skip: built ? false : 'run npm run build first' }, () => {
  let red: NodeRedProcess;
  const tokens = new Map<string, string>();
  before(async () => {
    const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };
    const hash = bcrypt.hashSync('secret', 4);
    red = await startNodeRedProcess(
      [
        { id: 'tab1', type: 'tab', label: 't' },
        {
          id: 'res1',
          type: 'sip-resolver',
          name: 'sb',
          nameservers: '127.0.0.1:9',
          staticRecords: STATIC,
          transports: 'udp',
          family: 'ipv4',
          sticky: true,
        },
      ],
      {
        SIP_LOCATE_ADMIN_AUTH: JSON.stringify({
          type: 'credentials',
          users: [
            { username: 'admin', password: hash, permissions: '*' },
            { username: 'viewer', password: hash, permissions: 'read' },
            { username: 'watcher', password: hash, permissions: ['status.read'] },
          ],
        }),
      },
    );
  });
  after(async () => red?.stop());

  async function token(username: string): Promise<string> {
    const known = tokens.get(username);
    if (known) return known;
    const scope = username === 'admin' ? '*' : username === 'viewer' ? 'read' : 'status.read';
    const res = await fetch(`${red.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=node-red-admin&grant_type=password&scope=${scope}&username=${username}&password=secret`,
    });
    assert.equal(res.status, 200, `token for ${username}`);
    const t = ((await res.json()) as { access_token: string }).access_token;
    tokens.set(username, t);
    return t;
  }
  const get = async (path: string, user: string | null): Promise<Response> =>
    fetch(`${red.url}${path}`, { headers: user ? { authorization: `Bearer ${await token(user)}` } : {} });
  const setTarget = async (body: unknown): Promise<Response> =>
    fetch(`${red.url}/sip-resolver/res1/targets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('admin')}` },
      body: JSON.stringify(body),
    });

  test('a status-only comms client hears "res1 changed" and nothing it may not read; the snapshot needs sip-resolver.read', async () => {
    const watcher = await commsClient(red, await token('watcher'));
    const viewer = await commsClient(red, await token('viewer'));
    try {
      // The viewer opens the sidebar (starts the notices) and reads the first snapshot.
      const first = await get('/sip-locate/sidebar?watch=1', 'viewer');
      assert.equal(first.status, 200);
      assert.deepEqual(
        ((await first.json()) as { resolvers: Array<{ id: string }> }).resolvers.map((r) => r.id),
        ['res1'],
      );
      assert.equal(
        (await setTarget({ transport: 'udp', address: '127.0.0.81', port: 5060, state: 'drain', seconds: 600 })).status,
        200,
      );
      await until(() => watcher.frames.length > 0 && viewer.frames.length > 0, 'the change notice on both connections');
      for (const c of [watcher, viewer]) {
        assert.deepEqual(c.frames[0], { topic: 'sip-locate/state/res1', data: { id: 'res1', changed: true } });
        for (const text of c.raw) assert.doesNotMatch(text, /127\.0\.0\.|drain|marks|pins/, 'no state over comms');
      }
      // Fetching it: refused for the status-only user (as GET /sip-resolver/:id/state is), given to the viewer.
      assert.equal((await get('/sip-locate/sidebar/res1', 'watcher')).status, 401);
      assert.equal((await get('/sip-locate/sidebar', 'watcher')).status, 401);
      assert.equal((await get('/sip-resolver/res1/state', 'watcher')).status, 401);
      assert.equal((await get('/sip-locate/sidebar/res1', null)).status, 401);
      const res = await get('/sip-locate/sidebar/res1', 'viewer');
      assert.equal(res.status, 200);
      const snap = (
        (await res.json()) as {
          resolver: { admin: Array<{ address: string; state: string }>; totals: Record<string, number> };
        }
      ).resolver;
      assert.deepEqual(
        snap.admin.map((a) => [a.address, a.state]),
        [['127.0.0.81', 'drain']],
      );
      assert.equal(snap.totals.admin, 1);
      assert.equal((await get('/sip-locate/sidebar/no-such-node', 'viewer')).status, 404);
    } finally {
      watcher.close();
      viewer.close();
      await setTarget({ transport: 'udp', address: '127.0.0.81', port: 5060, state: 'enable' });
    }
  });

  test(`snapshots come in pages of ${PAGE}, newest first, with totals; a bad page is 400`, async () => {
    const n = PAGE + 5;
    for (let i = 0; i < n; i++)
      assert.equal(
        (await setTarget({ transport: 'udp', address: '127.0.0.82', port: 10_000 + i, state: 'disable', seconds: 600 }))
          .status,
        200,
      );
    const page = async (
      q: string,
    ): Promise<{
      admin: Array<{ port: number }>;
      totals: Record<string, number>;
      page: { offset: number; limit: number };
    }> => {
      const res = await get(`/sip-locate/sidebar/res1${q}`, 'viewer');
      assert.equal(res.status, 200, q);
      return ((await res.json()) as { resolver: never }).resolver;
    };
    const first = await page('');
    assert.equal(first.admin.length, PAGE);
    assert.equal(first.totals.admin, n);
    assert.equal(first.admin[0]!.port, 10_000 + n - 1, 'the newest operator state first');
    const second = await page(`?offset=${PAGE}`);
    assert.deepEqual(
      second.admin.map((a) => a.port),
      [10_004, 10_003, 10_002, 10_001, 10_000],
    );
    assert.deepEqual(second.page, { offset: PAGE, limit: PAGE });
    const all = await get('/sip-locate/sidebar', 'viewer');
    assert.equal(((await all.json()) as { resolvers: Array<{ admin: unknown[] }> }).resolvers[0]!.admin.length, PAGE);
    for (const q of ['?limit=0', `?limit=${PAGE + 1}`, '?offset=-3', '?offset=x']) {
      const res = await get(`/sip-locate/sidebar/res1${q}`, 'viewer');
      assert.equal(res.status, 400, q);
      assert.equal(((await res.json()) as { code: string }).code, 'EINVALIDMSG');
    }
    const reset = await fetch(`${red.url}/sip-resolver/res1/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await token('admin')}` },
    });
    assert.equal(reset.status, 200);
  });

  test('the targets endpoint answers 400 for an address it would never match and for less than a second', async () => {
    const v6 = async (): Promise<string[]> =>
      ((await (await get('/sip-resolver/res1/state', 'viewer')).json()) as { admin: Array<{ address: string }> }).admin
        .map((a) => a.address)
        .filter((a) => a.includes(':'));
    assert.deepEqual(await v6(), []);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ transport: 'udp', address: '2001:DB8::1', port: 5060, state: 'drain' }, /write it as 2001:db8::1/],
      [{ transport: 'udp', address: '2001:db8:0:0::1', port: 5060, state: 'drain' }, /write it as 2001:db8::1/],
      [{ transport: 'udp', address: 'fe80::1%eth0', port: 5060, state: 'drain' }, /zone index/],
      [{ transport: 'udp', address: '127.0.0.81', port: 5060, state: 'drain', seconds: 0.5 }, /from 1 to/],
      [{ transport: 'udp', address: '127.0.0.81', port: 5060, state: 'disable', seconds: 0.0001 }, /from 1 to/],
    ];
    for (const [body, message] of cases) {
      const res = await setTarget(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const e = (await res.json()) as { code: string; message: string };
      assert.equal(e.code, 'EINVALIDMSG');
      assert.match(e.message, message);
    }
    assert.equal(
      (await setTarget({ transport: 'udp', address: '2001:db8::1', port: 5060, state: 'drain', seconds: 1 })).status,
      200,
      'the canonical form and one second are fine',
    );
    assert.deepEqual(await v6(), ['2001:db8::1'], 'nothing the refused requests named was kept');
  });
});
