// store.clusterFailoverMs: from killing the primary of the store's slot in a Redis Cluster to both instances
// writing again (a pin made on one and a mark made on the other after the failover have reached the other).
import { createLocator } from '../../src/core/locator';
import { linkStore } from '../../src/store/link';
import { createRedisStore } from '../../src/store/redis';
import { storeKeys } from '../../src/store/keys';
import { redisAvailable } from '../servers/redis';
import { redisCliAvailable, startCluster } from '../servers/redis-cluster';

/** Measures one Cluster failover on loopback, or says why it was skipped. */
export async function clusterFailover(): Promise<{ clusterFailoverMs: number } | { skipped: string }> {
  if (!redisAvailable() || !redisCliAvailable()) return { skipped: 'redis-server or redis-cli not installed' };
  const cluster = await startCluster();
  const pair = [0, 1].map(() => {
    const locator = createLocator({ nameservers: ['127.0.0.1:9'], sticky: true });
    const link = linkStore(
      locator,
      createRedisStore({ url: 'redis://cluster', prefix: 'bench', topology: 'cluster', nodes: cluster.seeds }),
    );
    return { locator, link };
  });
  const wait = async (ok: () => boolean, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error('the Cluster failover did not finish within 30 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    const [a, b] = pair as [(typeof pair)[0], (typeof pair)[0]];
    await wait(() => a.link.status().state === 'up' && b.link.status().state === 'up', 30_000);
    const { primary, replica } = cluster.ownerOf(storeKeys('bench', true).base);
    if (!replica) throw new Error("the slot's primary has no replica");
    const t0 = performance.now();
    await primary.kill();
    await wait(
      () =>
        cluster.cli(replica, 'ROLE').startsWith('master') &&
        a.link.status().state === 'up' &&
        b.link.status().state === 'up',
      30_000,
    );
    a.locator.markSucceeded({ transport: 'udp', address: '127.0.4.1', port: 5060 }, 'sip:failover.bench;udp');
    b.locator.markFailed({ transport: 'udp', address: '127.0.4.2', port: 5060 }, { reason: '503', retryAfter: 60 });
    await wait(
      () => b.locator.pinnedTarget('sip:failover.bench;udp') !== undefined && a.locator.state().marks.length === 1,
      30_000,
    );
    return { clusterFailoverMs: Math.round(performance.now() - t0) };
  } finally {
    for (const { link, locator } of pair) {
      await link.close();
      locator.close();
    }
    await cluster.stop();
  }
}
