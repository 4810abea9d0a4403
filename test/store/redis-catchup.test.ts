// The batched catch-up against a real redis-server: SCAN pages read with one call each, a page whose round trip
// fails is retried alone (the failure is injected in front of the real client: Redis will not drop one batch on
// request), and the whole read has one deadline.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import { SipLocateError } from '../../src/core/errors';
import type { LocatorState } from '../../src/core/types';
import { catchUp, type CatchUpOptions } from '../../src/store/redis-catchup';
import type { CommandSender } from '../../src/store/pipeline';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';

const N = 3000;

describe('Redis catch-up in batches (real redis-server)', { skip: skipUnlessRedis() }, () => {
  let redis: RunningRedis;
  let client: ReturnType<typeof createClient>;
  before(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url });
    await client.connect();
    const now = Date.now();
    for (let i = 0; i < N; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, j) => {
          const destination = `sip:c${i + j}.test;udp`;
          const pin = {
            destination,
            target: { transport: 'udp', address: '127.0.5.1', port: 5060 },
            pinnedAt: now,
            expiresAt: now,
          };
          return client.sendCommand(['SET', `cu:pin:${destination}`, JSON.stringify(pin), 'PX', '600000']);
        }),
      );
    }
  });
  after(async () => {
    await client?.close();
    await redis?.stop();
  });

  /** The real client, recording every command and failing the round trip numbered `failAt` once. */
  function sender(failAt: number): CommandSender & { sent: string[][] } {
    let trips = 0;
    let lastTick = -1;
    let tick = 0;
    const s = {
      sent: [] as string[][],
      get isReady() {
        return client.isReady;
      },
      sendCommand<T>(args: string[]): Promise<T> {
        s.sent.push(args);
        // commands issued in the same turn of the event loop form one round trip
        if (lastTick !== tick) {
          lastTick = tick;
          trips++;
          queueMicrotask(() => tick++);
        }
        if (trips === failAt && args[0] === 'EVAL') {
          failAt = -1;
          return Promise.reject(new Error('connection reset (injected)'));
        }
        return client.sendCommand<T>(args);
      },
    };
    return s;
  }

  function options(client: CommandSender, totalMs = 30_000): CatchUpOptions {
    return {
      client,
      prefix: 'cu',
      markPrefix: 'cu:mark:',
      pinPrefix: 'cu:pin:',
      deadline: { ms: 3000 },
      totalMs,
      now: Date.now,
      invalid: () => assert.fail('nothing invalid'),
    };
  }

  test('every pin is read once in pages; a failed page is retried alone, the SCAN is not restarted', async () => {
    const s = sender(3);
    const seen = new Map<string, number>();
    const pages: number[] = [];
    await catchUp(options(s), (batch: LocatorState) => {
      pages.push(batch.pins.length);
      for (const p of batch.pins) seen.set(p.destination, (seen.get(p.destination) ?? 0) + 1);
    });
    assert.equal(seen.size, N);
    assert.deepEqual([...new Set(seen.values())], [1], 'no pin applied twice');
    assert.ok(
      pages.every((n) => n <= 600),
      `pages stay small (${Math.max(...pages)})`,
    );
    const scans = s.sent.filter((c) => c[0] === 'SCAN');
    assert.equal(scans.filter((c) => c[1] === '0').length, 1, 'one SCAN from the start');
    const evals = s.sent.filter((c) => c[0] === 'EVAL');
    assert.equal(evals.length, pages.length + 1, 'one read per page, plus the one retried');
    assert.equal(new Set(scans.map((c) => c[1])).size, scans.length - 1, "only the failed page's SCAN was sent twice");
  });

  test('the whole read has one deadline', async () => {
    await assert.rejects(
      catchUp(options(sender(-1), 0), () => undefined),
      (err: unknown) => err instanceof SipLocateError && err.code === 'ESTORETIMEOUT',
    );
  });
});
