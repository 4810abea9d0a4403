// store.sentinelFailoverMs: from killing the Sentinel-watched primary to both instances writing again
// (a pin made on one after the failover has reached the other through the promoted replica).
import { createLocator } from '../../src/core/locator';
import { linkStore } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { sentinelAvailable, startSentinels } from '../servers/redis';

/** Measures one Sentinel failover on loopback, or says why it was skipped. */
export async function sentinelFailover(): Promise<{ sentinelFailoverMs: number } | { skipped: string }> {
  if (!sentinelAvailable()) return { skipped: 'redis-sentinel not installed' };
  const group = await startSentinels();
  const pair = [0, 1].map(() => {
    const locator = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(
      locator,
      createRedisStore({
        url: 'redis://sentinel/0',
        prefix: 'bench',
        topology: 'sentinel',
        sentinels: group.sentinels,
        masterName: group.masterName,
      }),
    );
    return { locator, link };
  });
  const wait = async (ok: () => boolean | Promise<boolean>, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await ok())) {
      if (Date.now() > end) throw new Error('the Sentinel failover did not finish within 30 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    const [a, b] = pair as [(typeof pair)[0], (typeof pair)[0]];
    await wait(() => a.link.status().state === 'up' && b.link.status().state === 'up', 30_000);
    const t0 = performance.now();
    await group.primary.kill();
    await wait(
      async () =>
        (await group.primaryPort()) === group.replica.port &&
        a.link.status().state === 'up' &&
        b.link.status().state === 'up',
      30_000,
    );
    a.locator.markSucceeded({ transport: 'udp', address: '127.0.4.1', port: 5060 }, 'sip:failover.bench;udp');
    await wait(() => b.locator.pinnedTarget('sip:failover.bench;udp') !== undefined, 30_000);
    return { sentinelFailoverMs: Math.round(performance.now() - t0) };
  } finally {
    for (const { link, locator } of pair) {
      await link.close();
      locator.close();
    }
    await group.stop();
  }
}
