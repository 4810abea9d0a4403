/** The connections of a store on Redis Cluster: commands routed to the slot of the store's hash tag, changes on a shard channel, expiry events from every primary. */
import { createClient, createCluster, type RedisClientOptions } from '@redis/client';
import { enableExpiryEvents, parseAddresses, type StoreClient } from './redis-client';
import type { CommandSender } from './pipeline';

/** Where the cluster is: a few of its nodes, from which the client learns the rest. */
export interface ClusterSettings {
  /** "host:port" of one or more cluster nodes (seeds). */
  nodes: string[];
}

/** Checks the seed node addresses ("host:port", 1 to 10); throws EINVALIDOPTION. */
export function parseClusterNodes(s: ClusterSettings): Array<{ host: string; port: number }> {
  return parseAddresses(s.nodes, 'redisNodes', 'cluster nodes', '127.0.0.1:7000');
}

/** True when the server knows sharded pub/sub (SPUBLISH, Redis and Valkey 7 or later). */
export async function hasShardedPubSub(c: CommandSender): Promise<boolean> {
  const reply = await c.sendCommand<unknown[]>(['COMMAND', 'INFO', 'SPUBLISH']);
  return Array.isArray(reply) && Array.isArray(reply[0]);
}

type NodeClient = ReturnType<typeof createClient>;

/**
 * A connection to a Redis Cluster. Every command goes to the primary of `routeKey`'s slot (all of a store's keys
 * share it); `subscribe` listens to the changes channel as a shard channel where the cluster has them (else plain
 * pub/sub) and to the expiry channel on every primary, since keyspace events stay on the node that expired the key.
 */
export function clusterClient(options: RedisClientOptions, settings: ClusterSettings, routeKey: string): StoreClient {
  const { socket, username, password, commandOptions } = options;
  const defaults = {
    ...(socket ? { socket } : {}),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(commandOptions ? { commandOptions } : {}),
    disableOfflineQueue: true,
  };
  const tls = socket && 'tls' in socket && socket.tls === true;
  const c = createCluster({
    rootNodes: parseClusterNodes(settings).map(({ host, port }) => ({
      socket: tls ? { host, port, tls: true } : { host, port },
    })),
    defaults,
    // A node that keeps failing to reconnect makes the client read the topology again after 500 ms (default 5 s): a failover is found quickly.
    topologyRefreshOnReconnectionAttemptStrategy: 500,
  });
  const sender: CommandSender = {
    get isReady() {
      return c.isReady;
    },
    sendCommand: (args) => c.sendCommand(routeKey, false, args),
  };
  const expiry = new Map<string, NodeClient>();
  let expiryListener: ((message: string, channel: string) => void) | undefined;
  let expiryChannel = '';
  let closed = false;
  let refreshing: Promise<void> | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;

  /** Follows the primaries: a subscriber on each new one, none on a node that is no longer primary. */
  const refresh = (): Promise<void> => {
    if (!expiryListener || closed) return Promise.resolve();
    refreshing ??= (async () => {
      const masters = new Map(c.masters.map((m) => [`${m.host}:${m.port}`, m]));
      for (const [address, client] of expiry) {
        if (masters.has(address)) continue;
        expiry.delete(address);
        client.destroy();
      }
      for (const [address, m] of masters) {
        if (expiry.has(address) || closed) continue;
        const node = createClient({
          ...options,
          socket: { ...(socket ?? {}), host: m.host, port: m.port } as RedisClientOptions['socket'],
        });
        node.on('error', () => {
          // a primary that went away is dropped on the next refresh
          if (closed || refreshTimer) return;
          refreshTimer = setTimeout(() => {
            refreshTimer = undefined;
            void refresh();
          }, 500);
          refreshTimer.unref();
        });
        expiry.set(address, node);
        try {
          await node.connect();
          await enableExpiryEvents({
            get isReady() {
              return node.isReady;
            },
            sendCommand: (args) => node.sendCommand(args),
          });
          if (expiryListener) await node.subscribe(expiryChannel, expiryListener);
        } catch {
          expiry.delete(address);
          node.destroy();
        }
      }
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  let ready = false;
  return {
    get isReady() {
      return c.isReady;
    },
    sendCommand: (...args: Parameters<CommandSender['sendCommand']>) => sender.sendCommand(...args),
    connect: async () => {
      await c.connect();
      ready = true;
    },
    onError: (l) => void c.on('error', l),
    onReady: (l) => {
      c.on('connect', l);
      c.on('node-ready', () => {
        if (ready) l();
        void refresh();
      });
    },
    subscribe: async (channels, listener) => {
      const sharded = await hasShardedPubSub(sender);
      for (const channel of channels) {
        if (channel.startsWith('__keyevent@')) {
          expiryChannel = channel;
          expiryListener = listener;
          await refresh();
        } else if (sharded) await c.sSubscribe(channel, listener);
        else await c.subscribe(channel, listener);
      }
    },
    close: async () => {
      closed = true;
      clearTimeout(refreshTimer);
      for (const node of expiry.values()) node.destroy();
      expiry.clear();
      await c.close();
    },
    destroy: () => {
      closed = true;
      clearTimeout(refreshTimer);
      for (const node of expiry.values()) node.destroy();
      expiry.clear();
      c.destroy();
    },
  };
}
