/** A state store on Redis: marks and pins shared by several instances, first writer wins for pins, changes announced by pub/sub. */
import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import { SipLocateError } from '../core/errors';
import { targetKeyOf } from '../core/failover/marks';
import type { LocatorState, PinRecord, StateChange, TargetKey } from '../core/types';
import { readChange, readMark, readPin, readTargetKey, ttlOf } from './records';
import { withStoreTimeout } from './timeout';
import type { StateStore, StoreEvents } from './types';

/** Options of createRedisStore(). */
export interface RedisStoreOptions {
  /** redis:// or rediss:// URL (user, password, host, port, database number). */
  url: string;
  /** Password, when it is kept out of the URL (a Node-RED credential). */
  password?: string;
  /** Key and channel prefix; instances that share state use the same one. */
  prefix: string;
  /** Deadline for one write, ms (default 3000); a catch-up read gets three times as long. */
  timeoutMs?: number;
  clock?: { now(): number };
}

// Each script writes and announces in one step, so other instances see changes in the order Redis applied them.
// Every script starts by reading the key: `cur` (raw), `old` (decoded, if it is a table) and `k` (its pin's target key).
const CURRENT = `local cur = redis.call('GET', KEYS[1])
local old, k
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' then old = v end
end
if old and type(old.target) == 'table' then
  k = tostring(old.target.transport) .. '|' .. tostring(old.target.address) .. '|' .. tostring(old.target.port)
end
`;
// A mark: a live black mark is neither turned grey nor shortened.
const MARK = `${CURRENT}
if old and old.mark == 'black' and (ARGV[5] == 'grey' or redis.call('PTTL', KEYS[1]) > tonumber(ARGV[2])) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
// Clearing a mark removes grey ones only.
const UNMARK = `${CURRENT}
if not cur or (old and old.mark == 'black') then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1`;
// A pin: the first writer wins. A pin may replace one for the same target, the one it names as replaced,
// or one whose target is marked failed while its own is not; otherwise the standing pin and its time left are returned.
const PIN = `${CURRENT}
if k and k ~= ARGV[5] and k ~= ARGV[6] then
  local stale = redis.call('EXISTS', ARGV[7] .. k) == 1 and redis.call('EXISTS', ARGV[7] .. ARGV[5]) == 0
  if not stale then return {cur, redis.call('PTTL', KEYS[1])} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 0`;
// Unpinning removes the pin only while it still points at the failed target (or holds garbage).
const UNPIN = `${CURRENT}
if not cur or (k and k ~= ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

/** Reconnect delay after `retries` failed attempts, ms. */
function reconnectDelay(retries: number): number {
  return Math.min(100 * 2 ** retries, 2000);
}

/** Checks a Redis URL and returns its database number; throws EINVALIDOPTION. */
export function parseRedisUrl(url: string): { db: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SipLocateError('EINVALIDOPTION', `"${url.slice(0, 80)}" is not a Redis URL; write it like redis://127.0.0.1:6379/0.`, { option: 'redisUrl' });
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new SipLocateError('EINVALIDOPTION', `A Redis URL starts with redis:// or rediss://, not ${u.protocol}//.`, { option: 'redisUrl' });
  if (!u.hostname) throw new SipLocateError('EINVALIDOPTION', 'The Redis URL names no host.', { option: 'redisUrl' });
  const path = u.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0 || db > 65535) throw new SipLocateError('EINVALIDOPTION', `"${path.slice(0, 20)}" is not a Redis database number.`, { option: 'redisUrl' });
  return { db };
}

function redisError(err: unknown, what: string): SipLocateError {
  if (err instanceof SipLocateError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SipLocateError('ESTOREDOWN', `Redis is not reachable (${what}): ${detail}`, {}, { cause: err });
}

/** Escapes glob characters for SCAN MATCH. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/** Creates a Redis-backed store; nothing connects until start(). Throws EINVALIDOPTION for a bad URL or prefix. */
export function createRedisStore(options: RedisStoreOptions): StateStore {
  const { db } = parseRedisUrl(options.url);
  if (options.prefix.length === 0 || options.prefix.length > 200) throw new SipLocateError('EINVALIDOPTION', 'The Redis key prefix must have 1 to 200 characters.', { option: 'redisPrefix' });
  const timeoutMs = options.timeoutMs ?? 3000;
  const clock = options.clock ?? { now: Date.now };
  const self = randomUUID();
  const markPrefix = `${options.prefix}:mark:`;
  const pinPrefix = `${options.prefix}:pin:`;
  const channel = `${options.prefix}:changes`;
  const expiredChannel = `__keyevent@${db}__:expired`;
  const clientOptions = {
    url: options.url,
    ...(options.password ? { password: options.password } : {}),
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay },
  };
  const client = createClient(clientOptions);
  const sub = createClient(clientOptions);
  let events: StoreEvents | undefined;
  let closing = false;
  let subscribed = false;

  const run = async <T>(args: string[], what: string, ms = timeoutMs): Promise<T> => {
    if (!client.isReady) throw new SipLocateError('ESTOREDOWN', `Redis is not connected (${what}).`);
    try {
      return await withStoreTimeout(client.sendCommand<T>(args), ms, what);
    } catch (err) {
      throw redisError(err, what);
    }
  };

  /** Every key under the prefix. */
  const scanKeys = async (ms: number): Promise<string[]> => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await run<[string, string[]]>(['SCAN', cursor, 'MATCH', `${globEscape(options.prefix)}:*`, 'COUNT', '1000'], 'scan', ms);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  };

  const announce = (change: StateChange, now: number): string => JSON.stringify({ from: self, ttl: ttlOf(change, now), change });

  const enableExpiryEvents = async (): Promise<void> => {
    try {
      const reply = await client.sendCommand<string[]>(['CONFIG', 'GET', 'notify-keyspace-events']);
      const flags = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : '';
      const want = [...new Set([...flags, 'E', 'x'])].join('');
      if (!(flags.includes('E') || flags.includes('A')) || !(flags.includes('x') || flags.includes('A'))) await client.sendCommand(['CONFIG', 'SET', 'notify-keyspace-events', want]);
    } catch {
      // CONFIG may be disabled (managed Redis): expiry then relies on each instance's own clock, which it always checks anyway.
    }
  };

  const onMessage = (message: string, from: string): void => {
    if (!events) return;
    if (from === expiredChannel) {
      if (message.startsWith(markPrefix)) {
        const [transport, address, port] = message.slice(markPrefix.length).split('|');
        const target = readTargetKey({ transport, address, port: Number(port) });
        if (target) events.remote({ op: 'expired', mark: target });
      } else if (message.startsWith(pinPrefix)) {
        events.remote({ op: 'expired', destination: message.slice(pinPrefix.length) });
      }
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      parsed = undefined;
    }
    const envelope = typeof parsed === 'object' && parsed !== null ? (parsed as { from?: unknown; ttl?: unknown; change?: unknown }) : undefined;
    if (envelope?.from === self) return;
    const change = envelope ? readChange(envelope.change, clock.now(), typeof envelope.ttl === 'number' ? envelope.ttl : undefined) : undefined;
    if (!change) {
      events.invalid(new SipLocateError('ESTORERECORD', `An invalid change arrived on ${channel} and was ignored.`));
      return;
    }
    events.remote(change);
  };

  const watch = (c: typeof client, name: string): void => {
    c.on('error', (err: unknown) => {
      if (!closing) events?.down(redisError(err, name));
    });
    c.on('ready', () => {
      if (closing || (c === sub && !subscribed)) return;
      if (c === client) void enableExpiryEvents();
      events?.up();
    });
  };

  return {
    kind: 'redis',
    start(e) {
      events = e;
      watch(client, 'commands');
      watch(sub, 'subscription');
      client.connect().catch((err: unknown) => {
        if (!closing) e.down(redisError(err, 'connect'));
      });
      sub.connect().then(() => sub.subscribe([channel, expiredChannel], onMessage)).then(() => {
        subscribed = true;
        if (!closing) e.up();
      }).catch((err: unknown) => {
        if (!closing) e.down(redisError(err, 'subscribe'));
      });
    },
    async load() {
      if (!sub.isReady || !subscribed) throw new SipLocateError('ESTOREDOWN', 'The Redis subscription is not connected yet.');
      const out: LocatorState = { marks: [], pins: [] };
      const now = clock.now();
      const keys = await scanKeys(timeoutMs * 3);
      const values = await Promise.all(keys.map((k) => Promise.all([run<string | null>(['GET', k], 'get', timeoutMs * 3), run<number>(['PTTL', k], 'pttl', timeoutMs * 3)])));
      keys.forEach((key, i) => {
        const [raw, pttl] = values[i]!;
        if (raw === null || typeof pttl !== 'number' || pttl <= 0) return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(raw);
        } catch {
          parsed = undefined;
        }
        if (key.startsWith(markPrefix)) {
          const mark = readMark(parsed, now + pttl);
          if (mark) out.marks.push(mark);
          else events?.invalid(new SipLocateError('ESTORERECORD', `The Redis key ${key} does not hold a valid mark.`));
        } else if (key.startsWith(pinPrefix)) {
          const pin = readPin(parsed, now + pttl);
          if (pin) out.pins.push(pin);
          else events?.invalid(new SipLocateError('ESTORERECORD', `The Redis key ${key} does not hold a valid pin.`));
        }
      });
      return out;
    },
    async write(change): Promise<PinRecord | undefined> {
      const now = clock.now();
      switch (change.op) {
        case 'mark': {
          const ttl = ttlOf(change, now);
          if (ttl <= 0) return undefined;
          await run(['EVAL', MARK, '1', markPrefix + targetKeyOf(change.mark), JSON.stringify(change.mark), String(ttl), channel, announce(change, now), change.mark.mark], 'mark');
          return undefined;
        }
        case 'unmark':
          await run(['EVAL', UNMARK, '1', markPrefix + targetKeyOf(change.target), channel, announce(change, now)], 'unmark');
          return undefined;
        case 'pin': {
          const ttl = ttlOf(change, now);
          if (ttl <= 0) return undefined;
          const replaces = change.replaces ? targetKeyOf(change.replaces) : '';
          const reply = await run<0 | [string, number]>(['EVAL', PIN, '1', pinPrefix + change.pin.destination, JSON.stringify(change.pin), String(ttl), channel, announce(change, now), targetKeyOf(change.pin.target), replaces, markPrefix], 'pin');
          if (!Array.isArray(reply)) return undefined;
          let standing: unknown;
          try {
            standing = JSON.parse(reply[0]);
          } catch {
            standing = undefined;
          }
          const pin = readPin(standing, now + Math.max(0, Number(reply[1])));
          if (!pin) events?.invalid(new SipLocateError('ESTORERECORD', `The Redis key ${pinPrefix + change.pin.destination} does not hold a valid pin.`));
          return pin;
        }
        case 'unpin':
          await run(['EVAL', UNPIN, '1', pinPrefix + change.destination, targetKeyOf(change.target as TargetKey), channel, announce(change, now)], 'unpin');
          return undefined;
        case 'reset': {
          const mine = (await scanKeys(timeoutMs * 3)).filter((k) => k.startsWith(markPrefix) || k.startsWith(pinPrefix));
          for (let i = 0; i < mine.length; i += 1000) await run(['DEL', ...mine.slice(i, i + 1000)], 'reset');
          await run(['PUBLISH', channel, announce(change, now)], 'reset');
          return undefined;
        }
        case 'expired':
          return undefined;
      }
    },
    async flush() {
      // every write goes out at once
    },
    async close() {
      closing = true;
      for (const c of [sub, client]) {
        try {
          if (c.isReady) await withStoreTimeout(c.close(), 2000, 'close');
          else c.destroy();
        } catch {
          try {
            c.destroy();
          } catch {
            // already closed
          }
        }
      }
    },
  };
}
