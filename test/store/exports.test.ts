// The store API as a library user outside Node-RED sees it: `node-red-contrib-sip-locate/store` through the
// package's exports map (the built files), linking a locator to a real redis-server and reading its status.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { until } from '../support/wait';

type Core = typeof import('../../src/core/index');
type Store = typeof import('../../src/store/index');

describe('node-red-contrib-sip-locate/store (built package, real redis-server)', { skip: skipUnlessRedis() }, () => {
  let redis: RunningRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('the exports map gives the locator at "." and the stores at "/store"; internals are not reachable', () => {
    const core = require('node-red-contrib-sip-locate') as Core;
    const store = require('node-red-contrib-sip-locate/store') as Store;
    assert.equal(typeof core.createLocator, 'function');
    assert.deepEqual(
      [typeof store.createRedisStore, typeof store.createContextStore, typeof store.linkStore],
      ['function', 'function', 'function'],
    );
    assert.throws(() => require('node-red-contrib-sip-locate/dist/store/redis-scripts'), {
      code: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });

  test('a SIP application links a locator to Redis: status, onStatus, flush and close', async () => {
    const { createLocator } = require('node-red-contrib-sip-locate') as Core;
    const { createRedisStore, linkStore } = require('node-red-contrib-sip-locate/store') as Store;
    const locator = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(locator, createRedisStore({ url: redis.url, prefix: 'lib' }));
    const seen: string[] = [];
    const stop = link.onStatus((s) => seen.push(s.state));
    await until(() => link.status().state === 'up', 'up');
    locator.markSucceeded({ transport: 'tcp', address: '127.0.3.1', port: 5060 }, 'sip:lib.test;transport=tcp');
    await link.flush();
    assert.match(await redis.command('GET "lib:pin:sip:lib.test;transport=tcp"'), /127\.0\.3\.1/);
    assert.deepEqual([seen, link.status().written, link.status().pending], [['up'], 1, 0]);
    stop();
    await link.close();
    locator.close();
  });
});
