// Last good plans through a real redis-server: instance A locates through DNS and writes the plan to
// `<prefix>:plan:<destination>` (expiring after staleSeconds); instance B starts fresh during a DNS outage
// (it never saw an answer), reads the plan in its catch-up and routes from it with stale: true.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type SipLocator } from '../../src/core/locator';
import { linkStore, type StoreLink } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { reply, soa, startFakeDns, type FakeDnsServer, type FakeQuery } from '../servers/fake-dns';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { closeAll } from './close-all';
import { until } from '../support/wait';

describe('last good plans in Redis', { skip: skipUnlessRedis() }, () => {
  let redis: RunningRedis;
  let dns: FakeDnsServer;
  let down = false;
  const open: Array<{ locator: SipLocator; link: StoreLink }> = [];

  before(async () => {
    redis = await startRedis();
    dns = await startFakeDns((q: FakeQuery) => {
      if (down) return [reply(q, { rcode: 2 })];
      if (q.type === 'SRV' && q.name.toLowerCase() === '_sip._udp.pbx.example.test')
        return [
          reply(q, {
            answers: [
              {
                type: 'SRV',
                name: q.name,
                ttl: 60,
                data: { priority: 10, weight: 0, port: 5074, target: 'a.example.test' },
              },
            ],
          }),
        ];
      if (q.type === 'A' && q.name.toLowerCase() === 'a.example.test')
        return [reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: '127.0.0.94' }] })];
      return [reply(q, { authorities: [soa('example.test', 60, 60)] })];
    });
  });
  after(async () => {
    await closeAll(open);
    await dns?.stop();
    await redis?.stop();
  });

  function instance(prefix: string): { locator: SipLocator; link: StoreLink } {
    const locator = createLocator({
      nameservers: [dns.nameserver],
      transports: ['udp'],
      family: 'ipv4',
      timeoutMs: 200,
      tries: 1,
      dns0x20: false,
      staleSeconds: 600,
    });
    const link = linkStore(locator, createRedisStore({ url: redis.url, prefix }));
    const i = { locator, link };
    open.push(i);
    return i;
  }

  test('instance B, fresh during an outage, routes from the plan instance A wrote', async () => {
    down = false;
    const a = instance('plans1');
    await until(() => a.link.status().state === 'up', 'A up');
    const first = await a.locator.locate('sip:pbx.example.test');
    assert.equal(first.stale, false);
    await a.link.flush();
    const key = `plans1:plan:${first.destination}`;
    const ttl = Number(/^:(\d+)/.exec(await redis.command(`PTTL "${key}"`))?.[1]);
    assert.ok(ttl > 590_000 && ttl <= 600_000, `the key expires after staleSeconds (${ttl} ms left)`);

    down = true;
    const b = instance('plans1');
    assert.deepEqual(b.locator.savedPlans(), [], 'B starts with nothing');
    await until(() => b.link.status().state === 'up', 'B up');
    assert.equal(b.locator.savedPlans().length, 1, 'the catch-up read the plan');
    const during = await b.locator.locate('sip:pbx.example.test');
    assert.equal(during.stale, true);
    assert.deepEqual(
      during.targets.map((t) => [t.address, t.port]),
      [['127.0.0.94', 5074]],
    );
  });

  test('an invalid plan key is counted and skipped, not applied', async () => {
    assert.equal(
      await redis.command(
        `SET plans2:plan:sip:x.example.test '{"destination":"sip:x.example.test","entries":"nope"}' PX 60000`,
      ),
      '+OK\r\n',
    );
    assert.equal(await redis.command('SET plans2:plan:sip:y.example.test not-json PX 60000'), '+OK\r\n');
    const c = instance('plans2');
    await until(() => c.link.status().state === 'up', 'C up');
    assert.equal(c.link.status().invalid, 2);
    assert.deepEqual(c.locator.savedPlans(), []);
  });
});
