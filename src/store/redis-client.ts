/** The Redis connections a store uses, the same for a single server and a Sentinel-watched primary. */
import { createClient, createSentinel, type RedisClientOptions } from '@redis/client';
import { SipLocateError } from '../core/errors';
import type { CommandSender } from './pipeline';

/** Which Redis a store talks to: one server, the primary a set of Sentinels names, or a Redis Cluster. */
export type RedisTopology = 'single' | 'sentinel' | 'cluster';

/** Where the Sentinels are and which primary they watch. */
export interface SentinelSettings {
  /** "host:port" of each Sentinel. */
  sentinels: string[];
  /** The name the Sentinels know the primary by (`sentinel monitor <name> ...`). */
  masterName: string;
}

/** One connection as the store uses it. */
export interface StoreClient extends CommandSender {
  connect(): Promise<unknown>;
  onError(listener: (err: unknown) => void): void;
  /** Called when the connection is (again) ready, and in Sentinel and Cluster mode when a primary changed. */
  onReady(listener: () => void): void;
  subscribe(channels: string[], listener: (message: string, channel: string) => void): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
}

/** Checks 1 to 10 "host:port" addresses of `what` (Sentinels, cluster nodes); throws EINVALIDOPTION naming `option`. */
export function parseAddresses(
  addresses: readonly string[] | undefined,
  option: string,
  what: string,
  example: string,
): Array<{ host: string; port: number }> {
  if (!Array.isArray(addresses) || addresses.length === 0 || addresses.length > 10)
    throw new SipLocateError('EINVALIDOPTION', `Name 1 to 10 ${what} as host:port.`, { option });
  return addresses.map((a) => {
    const m = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(String(a).trim());
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535)
      throw new SipLocateError(
        'EINVALIDOPTION',
        `"${String(a).slice(0, 60)}" is not an address of ${what}; write host:port, like ${example}.`,
        { option },
      );
    return { host: m[1]!, port };
  });
}

/** Checks Sentinel addresses ("host:port", 1 to 10) and the primary's name; throws EINVALIDOPTION. */
export function parseSentinels(s: SentinelSettings): Array<{ host: string; port: number }> {
  const nodes = parseAddresses(s.sentinels, 'redisSentinels', 'Sentinels', '127.0.0.1:26379');
  if (!/^[\w.-]{1,100}$/.test(s.masterName ?? ''))
    throw new SipLocateError(
      'EINVALIDOPTION',
      'The Sentinel master name must have 1 to 100 letters, digits, dots, dashes or underscores.',
      { option: 'redisMasterName' },
    );
  return nodes;
}

/** Adds `Ex` to a server's keyspace event flags where CONFIG is allowed; elsewhere leaves them (the README says how). */
export async function enableExpiryEvents(c: CommandSender): Promise<void> {
  try {
    const reply = await c.sendCommand<string[]>(['CONFIG', 'GET', 'notify-keyspace-events']);
    const flags = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : '';
    const want = [...new Set([...flags, 'E', 'x'])].join('');
    if (!(flags.includes('E') || flags.includes('A')) || !(flags.includes('x') || flags.includes('A')))
      await c.sendCommand(['CONFIG', 'SET', 'notify-keyspace-events', want]);
  } catch {
    // CONFIG may be refused (managed Redis): instances then rely on their own clocks for expiry.
  }
}

/** A connection to one Redis server. */
export function singleClient(options: RedisClientOptions): StoreClient {
  const c = createClient(options);
  return {
    get isReady() {
      return c.isReady;
    },
    sendCommand: (args) => c.sendCommand(args),
    connect: () => c.connect(),
    onError: (l) => void c.on('error', l),
    onReady: (l) => void c.on('ready', l),
    subscribe: (channels, listener) => c.subscribe(channels, listener),
    close: () => c.close(),
    destroy: () => c.destroy(),
  };
}

/** A connection to whichever server the Sentinels name as primary, following failovers. */
export function sentinelClient(options: RedisClientOptions, settings: SentinelSettings): StoreClient {
  const { socket, database, username, password, commandOptions } = options;
  const s = createSentinel({
    name: settings.masterName,
    sentinelRootNodes: parseSentinels(settings),
    nodeClientOptions: {
      ...(socket ? { socket } : {}),
      ...(database !== undefined ? { database } : {}),
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(commandOptions ? { commandOptions } : {}),
    },
    sentinelClientOptions: { socket: { connectTimeout: 2000 } },
    masterPoolSize: 1,
  });
  return {
    get isReady() {
      return s.isReady;
    },
    sendCommand: (args) => s.sendCommand(false, args),
    connect: () => s.connect(),
    onError: (l) => void s.on('error', l),
    onReady: (l) => {
      s.on('ready', l);
      s.on('topology-change', (event: { type: string }) => {
        if (event.type === 'MASTER_CHANGE') l();
      });
    },
    subscribe: (channels, listener) => s.subscribe(channels, listener),
    close: () => s.close(),
    destroy: () => void s.destroy(),
  };
}
