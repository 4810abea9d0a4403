// Operator states in the stores: Redis keeps them under <prefix>:admin:<transport|address|port> (with or without
// an expiry), a locator linked later catches them up, enable deletes the key, garbage under an admin key is skipped
// and counted; the context store saves and reads them back; untrusted records are checked like marks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type SipLocator } from '../../src/core/locator';
import { linkStore, type StoreLink } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { createContextStore, type ContextLike } from '../../src/store/context';
import { readAdmin, readChange } from '../../src/store/records';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { until } from '../support/wait';
import { closeAll } from './close-all';

const T = { transport: 'udp' as const, address: '127.0.0.71', port: 5060 };
const U = { transport: 'tcp' as const, address: '::1', port: 5070 };

test('untrusted operator records are read like marks: a bad transport, address, state or time is refused', () => {
  assert.deepEqual(readAdmin({ ...T, state: 'drain', since: 5 }), { ...T, state: 'drain', since: 5 });
  assert.deepEqual(readAdmin({ ...T, state: 'disable', since: 5, expiresAt: 9 }), {
    ...T,
    state: 'disable',
    since: 5,
    expiresAt: 9,
  });
  for (const bad of [
    { ...T, state: 'off', since: 5 },
    { ...T, address: 'x.test', state: 'drain', since: 5 },
    { ...T, port: 0, state: 'drain', since: 5 },
    { ...T, state: 'drain' },
    { ...T, state: 'drain', since: 5, expiresAt: -1 },
    { ...T, state: 'drain', since: 5, expiresAt: '9' },
    null,
    'drain',
  ]) {
    assert.equal(readAdmin(bad), undefined, JSON.stringify(bad));
  }
  assert.deepEqual(
    readChange({ op: 'admin', admin: { ...T, state: 'drain', since: 1, expiresAt: 2 } }, 1000, 500),
    { op: 'admin', admin: { ...T, state: 'drain', since: 1, expiresAt: 1500 } },
    'expiry rebased on the local clock',
  );
  assert.deepEqual(
    readChange({ op: 'admin', admin: { ...T, state: 'drain', since: 1 } }, 1000, 0),
    { op: 'admin', admin: { ...T, state: 'drain', since: 1 } },
    'no expiry stays none',
  );
  assert.equal(readChange({ op: 'admin', admin: { ...T, state: 'nope', since: 1 } }), undefined);
});

test('the context store saves operator states with marks and pins and reads them back', async () => {
  const saved = new Map<string, unknown>();
  const context: ContextLike = {
    get: (key, _s, cb) => cb(null, saved.get(key)),
    set: (key, value, _s, cb) => {
      saved.set(key, JSON.parse(JSON.stringify(value)));
      cb(null);
    },
  };
  const a = createLocator({ nameservers: ['127.0.0.1:9'] });
  const linkA = linkStore(
    a,
    createContextStore(context, { snapshot: () => ({ ...a.state(), admin: a.adminStates() }), coalesceMs: 1 }),
  );
  await until(() => linkA.status().state === 'up', 'context store up');
  a.setTargetState(T, 'drain');
  a.setTargetState(U, 'disable', 600);
  await linkA.flush();
  await linkA.close();
  a.close();
  const b = createLocator({ nameservers: ['127.0.0.1:9'] });
  const linkB = linkStore(
    b,
    createContextStore(context, { snapshot: () => ({ ...b.state(), admin: b.adminStates() }) }),
  );
  await until(() => linkB.status().state === 'up', 'context store up again');
  assert.deepEqual(
    b.adminStates().map((x) => [x.address, x.state, x.expiresAt !== undefined]),
    [
      ['::1', 'disable', true],
      ['127.0.0.71', 'drain', false],
    ],
  );
  await linkB.close();
  b.close();
});

describe('operator states in Redis (real redis-server)', { skip: skipUnlessRedis() }, () => {
  let redis: RunningRedis;
  const open: Array<{ locator: SipLocator; link: StoreLink }> = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await closeAll(open);
    await redis?.stop();
  });
  /** An integer reply (":n\r\n"). */
  async function int(line: string): Promise<number> {
    const reply = await redis.command(line);
    assert.match(reply, /^:-?\d+\r\n$/);
    return Number(reply.slice(1));
  }
  function instance(prefix: string): { locator: SipLocator; link: StoreLink } {
    const locator = createLocator({ nameservers: ['127.0.0.1:9'] });
    const link = linkStore(locator, createRedisStore({ url: redis.url, prefix }));
    const i = { locator, link };
    open.push(i);
    return i;
  }

  test('kept under the admin key kind with and without expiry, caught up by a later instance; enable deletes; garbage is skipped', async () => {
    const a = instance('adm1');
    await until(() => a.link.status().state === 'up', 'A up');
    a.locator.setTargetState(T, 'drain');
    a.locator.setTargetState(U, 'disable', 600);
    await a.link.flush();
    const bulk = (await redis.command('GET adm1:admin:udp|127.0.0.71|5060')).split('\r\n')[1]!;
    assert.equal((JSON.parse(bulk) as { state: string }).state, 'drain');
    assert.equal(await int('PTTL adm1:admin:udp|127.0.0.71|5060'), -1, 'no seconds: no expiry');
    const pttl = await int('PTTL adm1:admin:tcp|::1|5070');
    assert.ok(pttl > 590_000 && pttl <= 600_000, `PTTL ${pttl}`);
    assert.equal(await redis.command(`SET adm1:admin:udp|127.0.0.99|5060 '{"garbage":true}'`), '+OK\r\n');
    const b = instance('adm1');
    await until(() => b.link.status().state === 'up', 'B up');
    assert.deepEqual(
      b.locator.adminStates().map((x) => [x.address, x.state]),
      [
        ['::1', 'disable'],
        ['127.0.0.71', 'drain'],
      ],
    );
    assert.equal(b.link.status().invalid, 1, 'the garbage record is counted, not applied');
    b.locator.setTargetState(T, 'enable');
    await b.link.flush();
    assert.equal(await int('EXISTS adm1:admin:udp|127.0.0.71|5060'), 0);
    await until(() => a.locator.adminStates().length === 1, 'A hears the enable');
  });
});
