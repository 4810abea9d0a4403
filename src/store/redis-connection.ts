/** The connection settings of a Redis store: URL, credentials and TLS, checked without ever echoing a password. */
import { readFileSync } from 'node:fs';
import type { RedisClientOptions } from '@redis/client';
import { SipLocateError } from '../core/errors';

/** Where and how to connect, as createRedisStore() takes it. */
export interface RedisConnectionOptions {
  /** redis:// or rediss:// URL (user, password, host, port, database number). */
  url: string;
  /** ACL user name, when it is kept out of the URL. */
  username?: string;
  /** Password, when it is kept out of the URL (a Node-RED credential); wins over one in the URL. */
  password?: string;
  /** PEM file with the CA certificates that sign the server's certificate (rediss:// only). */
  caFile?: string;
}

/** A checked connection: what the client needs, plus the secret to keep out of messages. */
export interface RedisConnection {
  host: string;
  port: number;
  db: number;
  tls: boolean;
  username?: string;
  password?: string;
  ca?: string;
}

const bad = (message: string): SipLocateError => new SipLocateError('EINVALIDOPTION', message, { option: 'redisUrl' });

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw bad('The user or password in the Redis URL is not valid percent-encoding.');
  }
}

/** Checks a Redis URL and the credential fields; throws EINVALIDOPTION with a message that never contains the URL's password. */
export function parseRedisConnection(options: RedisConnectionOptions): RedisConnection {
  let u: URL;
  try {
    u = new URL(options.url);
  } catch {
    throw bad(
      'The Redis URL cannot be read; write it like redis://127.0.0.1:6379/0 (user and password may go in their own fields).',
    );
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw bad(`A Redis URL starts with redis:// or rediss://, not ${u.protocol.slice(0, 20)}//.`);
  if (!u.hostname) throw bad('The Redis URL names no host.');
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!/^\d*$/.test(path) || !Number.isInteger(db) || db < 0 || db > 65535)
    throw bad('The path of the Redis URL must be a database number, like /0.');
  const port = u.port === '' ? 6379 : Number(u.port);
  const tls = u.protocol === 'rediss:';
  const username = options.username || (u.username ? decode(u.username) : undefined);
  const password = options.password || (u.password ? decode(u.password) : undefined);
  let ca: string | undefined;
  if (options.caFile) {
    if (!tls)
      throw new SipLocateError('EINVALIDOPTION', 'A CA file is only used with rediss:// URLs.', {
        option: 'redisCaFile',
      });
    try {
      ca = readFileSync(options.caFile, 'utf8');
    } catch (err) {
      const why = err instanceof Error && 'code' in err ? String((err as NodeJS.ErrnoException).code) : 'unreadable';
      throw new SipLocateError(
        'EINVALIDOPTION',
        `The Redis CA file ${options.caFile.slice(0, 200)} cannot be read (${why}).`,
        { option: 'redisCaFile' },
      );
    }
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    host,
    port,
    db,
    tls,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(ca ? { ca } : {}),
  };
}

/** Checks a Redis URL and returns its database number; throws EINVALIDOPTION. */
export function parseRedisUrl(url: string): { db: number } {
  return { db: parseRedisConnection({ url }).db };
}

/** Reconnect delay after `retries` failed attempts, ms. */
function reconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** retries, 2000);
}

/** The @redis/client options for a checked connection (no URL: credentials are passed as fields, never re-parsed). */
export function clientOptions(c: RedisConnection, commandTimeoutMs: number): RedisClientOptions {
  const common = { host: c.host, port: c.port, connectTimeout: 2000, reconnectStrategy: reconnectDelay };
  return {
    socket: c.tls
      ? { ...common, tls: true, servername: c.host, ...(c.ca ? { ca: c.ca } : {}) }
      : { ...common, tls: false },
    database: c.db,
    ...(c.username ? { username: c.username } : {}),
    ...(c.password ? { password: c.password } : {}),
    disableOfflineQueue: true,
    // A batch is one command (plus a SCAN), so the client's own timer only drops what a batch gave up on
    // (its default, 5 s from queueing, would fail long queues of work that is still being answered).
    commandOptions: { timeout: commandTimeoutMs },
  };
}
