// Store figures at scale against a real redis-server: a burst of 100,000 new pins written behind
// (store.burst100kMs, store.burstFailed), and a second instance catching up with them
// (store.catchup100kMs, store.catchupMaxStallMs: the longest event-loop stall while it does).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLocator } from '../../src/core/locator';
import type { Target } from '../../src/core/types';
import { linkStore } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { redisAvailable, startRedis } from '../servers/redis';
import { withAddressing } from '../../src/core/target';

const N = 100_000;

/** The four store-at-scale figures, or why they were skipped. */
export interface StoreScale {
  burst100kMs: number;
  burstFailed: number;
  catchup100kMs: number;
  catchupMaxStallMs: number;
}

const T = (n: number): Target =>
  withAddressing({
    transport: 'udp',
    address: `127.0.1.${n}`,
    port: 5060,
    family: 4,
    host: `h${n}.test`,
    source: 'srv',
    ttl: 60,
  });

/** Measures a 100,000-pin burst and a 100,000-pin catch-up on loopback. */
export async function storeScale(): Promise<StoreScale | { skipped: string }> {
  if (!redisAvailable()) return { skipped: 'redis-server not installed' };
  const redis = await startRedis();
  const dbsize = async (): Promise<number> => Number(/^:(\d+)/.exec(await redis.command('DBSIZE'))?.[1] ?? -1);
  const up = async (link: ReturnType<typeof linkStore>): Promise<void> => {
    while (link.status().state !== 'up') await new Promise((r) => setTimeout(r, 1));
  };
  try {
    const a = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const la = linkStore(a, createRedisStore({ url: redis.url, prefix: 'scale' }));
    await up(la);
    const t0 = performance.now();
    for (let i = 0; i < N; i++) a.markSucceeded(T(1 + (i % 4)), `sip:+4930${i}@scale.test;udp`);
    while ((await dbsize()) < N && performance.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 5));
    const burst100kMs = Math.round(performance.now() - t0);
    await la.flush();
    const burstFailed = la.status().failed;

    const stall = monitorEventLoopDelay({ resolution: 1 });
    const b = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    stall.enable();
    const t1 = performance.now();
    const lb = linkStore(b, createRedisStore({ url: redis.url, prefix: 'scale' }));
    await up(lb);
    const catchup100kMs = Math.round(performance.now() - t1);
    stall.disable();
    if (b.state().pins.length !== N) throw new Error(`catch-up read ${b.state().pins.length} of ${N} pins`);
    await la.close();
    await lb.close();
    a.close();
    b.close();
    return { burst100kMs, burstFailed, catchup100kMs, catchupMaxStallMs: Math.round(stall.max / 1e5) / 10 };
  } finally {
    await redis.stop();
  }
}

if (require.main === module) {
  void storeScale().then((r) => console.log(JSON.stringify(r)));
}
