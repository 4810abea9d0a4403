// Redis hardening against a real redis-server: ACL users and passwords in every place, no password in any
// message, keys of the wrong type and garbage records skipped and counted, remote changes capped like local ones.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocator, type SipLocator } from '../../src/core/locator';
import type { Target } from '../../src/core/types';
import { linkStore, type StoreLink } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { parseRedisConnection } from '../../src/store/redis-connection';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { until } from '../support/wait';
import { closeAll } from './close-all';
import { withAddressing } from '../../src/core/target';

const T = (n: number): Target =>
  withAddressing({
    transport: 'udp',
    address: `127.0.2.${n}`,
    port: 5060,
    family: 4,
    host: `h${n}.test`,
    source: 'srv',
    ttl: 60,
  });
const SECRET = 'pa55-Wörd:@/x';
const ENC = encodeURIComponent(SECRET);

describe('Redis hardening (real redis-server)', { skip: skipUnlessRedis() }, () => {
  let redis: RunningRedis;
  const open: Array<{ locator: SipLocator; link: StoreLink }> = [];
  let dir: string;

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'sip-redis-ca-'));
    const reply = await redis.command(`ACL SETUSER siplocate on >${SECRET} ~* &* +@all`);
    assert.equal(reply, '+OK\r\n');
  });
  after(async () => {
    await closeAll(open);
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function instance(
    options: { url: string; password?: string; username?: string; prefix?: string },
    log?: (m: string) => void,
    limits?: { maxPinMs: number; maxMarkMs: number },
  ): { locator: SipLocator; link: StoreLink } {
    const locator = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(locator, createRedisStore({ prefix: 'hard', ...options }), {
      ...(log ? { log } : {}),
      ...(limits ? { limits } : {}),
    });
    const i = { locator, link };
    open.push(i);
    return i;
  }

  test('an ACL user authenticates with user and password in the URL, user in the URL and password in its field, or both as fields', async () => {
    const base = `127.0.0.1:${redis.port}/0`;
    const ways = [
      { url: `redis://siplocate:${ENC}@${base}` },
      { url: `redis://siplocate@${base}`, password: SECRET },
      { url: `redis://siplocate:wrong@${base}`, password: SECRET },
      { url: `redis://${base}`, username: 'siplocate', password: SECRET },
    ];
    for (const [n, way] of ways.entries()) {
      const i = instance({ ...way, prefix: `acl${n}` });
      await until(() => i.link.status().state === 'up', `way ${n} up`);
      i.locator.markSucceeded(T(1), `sip:acl${n}.test;udp`);
      await i.link.flush();
      assert.match(
        await redis.command(`GET "acl${n}:pin:sip:acl${n}.test;udp"`),
        /127\.0\.2\.1/,
        `way ${n} wrote its pin`,
      );
      const who = await redis.command('CLIENT LIST');
      assert.match(who, /user=siplocate/);
    }
  });

  test('a wrong password: the link is down with ESTOREDOWN, and no message carries the password', async () => {
    const i = instance({
      url: `redis://siplocate@127.0.0.1:${redis.port}/0`,
      password: `${SECRET}-nope`,
      prefix: 'wrongpw',
    });
    await until(() => i.link.status().state === 'down', 'down');
    const s = i.link.status();
    assert.equal(s.error?.code, 'ESTOREDOWN');
    assert.ok(!JSON.stringify(s).includes(SECRET), 'status has no password');
    assert.match(s.error.message, /WRONGPASS|NOAUTH|invalid/i);
  });

  test('a malformed URL or a bad CA file is refused without echoing the password', () => {
    for (const url of [
      `redis://siplocate:${ENC}@[bad/0`,
      `redis://siplocate:${ENC}@127.0.0.1/x${ENC}`,
      `http://siplocate:${ENC}@127.0.0.1`,
      `redis://u:%zz${ENC}@127.0.0.1`,
    ]) {
      let message = '';
      assert.throws(
        () => createRedisStore({ url, prefix: 'p' }),
        (err: Error & { code?: string }) => {
          message = err.message;
          return err.code === 'EINVALIDOPTION';
        },
        url,
      );
      assert.ok(!message.includes(ENC) && !message.includes(SECRET), `"${message}" carries no password`);
    }
    assert.throws(
      () => createRedisStore({ url: 'rediss://127.0.0.1', prefix: 'p', caFile: join(dir, 'missing.pem') }),
      { code: 'EINVALIDOPTION', message: /cannot be read \(ENOENT\)/ },
    );
    assert.throws(() => createRedisStore({ url: 'redis://127.0.0.1', prefix: 'p', caFile: join(dir, 'missing.pem') }), {
      code: 'EINVALIDOPTION',
      message: /only used with rediss/,
    });
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n');
    const c = parseRedisConnection({ url: 'rediss://redis.internal:6380/2', caFile: join(dir, 'ca.pem') });
    assert.deepEqual(
      [c.tls, c.host, c.port, c.db, c.ca?.startsWith('-----BEGIN')],
      [true, 'redis.internal', 6380, 2, true],
    );
  });

  test('keys of the wrong type and invalid records are skipped, counted and named in the log once; the store stays up', async () => {
    await redis.command('HSET "bad:pin:sip:hash.test;udp" f v');
    await redis.command('SET "bad:pin:sip:junk.test;udp" "{not json"');
    // a valid pin stored under another destination's key
    const moved = JSON.stringify({
      destination: 'sip:elsewhere.test;udp',
      target: T(3),
      pinnedAt: 1,
      expiresAt: 2,
    }).replace(/"/g, '\\"');
    await redis.command(`SET "bad:pin:sip:moved.test;udp" "${moved}" PX 600000`);
    await redis.command(
      'SET "bad:mark:udp|127.0.2.9|5060" "{\\"transport\\":\\"udp\\",\\"address\\":\\"127.0.2.8\\",\\"port\\":5060,\\"mark\\":\\"grey\\"}" PX 600000',
    );
    await redis.command('SET "bad:pin:sip:ok.test;udp" "x" PX 600000');
    const logs: string[] = [];
    const i = instance({ url: redis.url, prefix: 'bad' }, (m) => logs.push(m));
    await until(() => i.link.status().state === 'up', 'up despite the garbage');
    assert.equal(
      i.link.status().invalid,
      4,
      'the wrong-type key, the moved pin, the misnamed mark and "x" (the junk without a TTL was never written by a store: not read)',
    );
    assert.equal(i.locator.state().pins.length, 0);
    // A write to the key of the wrong type is skipped too, and not named again.
    i.locator.markSucceeded(T(1), 'sip:hash.test;udp');
    await i.link.flush();
    assert.equal(await redis.command('TYPE "bad:pin:sip:hash.test;udp"'), '+hash\r\n', 'left alone');
    assert.equal(i.link.status().invalid, 5);
    assert.equal(i.link.status().state, 'up');
    assert.equal(logs.filter((m) => m.includes('hash.test')).length, 1, 'named once');
    assert.equal(new Set(logs).size, logs.length);
  });

  test('changes from other instances are capped by the local maxima and checked like local ones', async () => {
    const i = instance({ url: redis.url, prefix: 'cap' }, undefined, { maxPinMs: 60_000, maxMarkMs: 30_000 });
    await until(() => i.link.status().state === 'up', 'up');
    const century = 317 * 365 * 86_400_000;
    const mark = { transport: 'udp', address: '127.0.2.5', port: 5060, mark: 'black', expiresAt: 0 };
    const pin = { destination: 'sip:cap.test;udp', target: T(6), pinnedAt: 1, expiresAt: 0 };
    const message = JSON.stringify({
      from: 'other',
      changes: [
        { ttl: century, change: { op: 'mark', mark } },
        { ttl: century, change: { op: 'pin', pin } },
        { ttl: 5, change: { op: 'pin', pin: { ...pin, target: { address: 'x' } } } },
      ],
    });
    await redis.command(`PUBLISH cap:changes "${message.replace(/"/g, '\\"')}"`);
    await until(() => i.link.status().received === 2 && i.link.status().invalid === 1, 'two applied, one invalid');
    const now = Date.now();
    const state = i.locator.state();
    assert.equal(state.marks.length, 1);
    assert.ok(state.marks[0]!.expiresAt <= now + 30_000, 'the 317-year mark is capped at 30 s');
    assert.equal(state.pins.length, 1);
    assert.ok(state.pins[0]!.expiresAt <= now + 60_000, 'the pin is capped at 60 s');
  });
});
