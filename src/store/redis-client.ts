/** The Redis connections a store uses, the same for a single server and a Sentinel-watched primary. */
import { createClient, createSentinel, type RedisClientOptions } from '@redis/client';
import { SipLocateError } from '../core/errors';
import type { CommandSender } from './pipeline';

/** Which Redis a store talks to: one server, or the primary a set of Sentinels names. */
export type RedisTopology = 'single' | 'sentinel';

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
  /** Called when the connection is (again) ready, and in Sentinel mode when the primary changed. */
  onReady(listener: () => void): void;
  subscribe(channels: string[], listener: (message: string, channel: string) => void): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
}

/** Checks Sentinel addresses ("host:port", 1 to 10) and the primary's name; throws EINVALIDOPTION. */
export function parseSentinels(s: SentinelSettings): Array<{ host: string; port: number }> {
  if (!Array.isArray(s.sentinels) || s.sentinels.length === 0 || s.sentinels.length > 10) throw new SipLocateError('EINVALIDOPTION', 'Name 1 to 10 Sentinels as host:port.', { option: 'redisSentinels' });
  const nodes = s.sentinels.map((a) => {
    const m = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(a.trim());
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw new SipLocateError('EINVALIDOPTION', `"${a.slice(0, 60)}" is not a Sentinel address; write host:port, like 127.0.0.1:26379.`, { option: 'redisSentinels' });
    return { host: m[1]!, port };
  });
  if (!/^[\w.-]{1,100}$/.test(s.masterName ?? '')) throw new SipLocateError('EINVALIDOPTION', 'The Sentinel master name must have 1 to 100 letters, digits, dots, dashes or underscores.', { option: 'redisMasterName' });
  return nodes;
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
    nodeClientOptions: { ...(socket ? { socket } : {}), ...(database !== undefined ? { database } : {}), ...(username ? { username } : {}), ...(password ? { password } : {}), ...(commandOptions ? { commandOptions } : {}) },
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
