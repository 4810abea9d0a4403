/** The Lua scripts of the Redis store: each writes one change and announces it in one step. */
import { createHash } from 'node:crypto';
import { SipLocateError } from '../core/errors';
import { targetKeyOf } from '../core/failover/marks';
import type { PinRecord, StateChange } from '../core/types';
import { sendBatch, type BatchDeadline, type BatchReply, type CommandSender } from './pipeline';
import { readPin, ttlOf } from './records';
import type { WriteOutcome } from './types';

// Every script starts by reading the key: `cur` (raw), `old` (decoded, if it is a table) and `k` (its pin's target key).
// A key of another type than string is left alone: the script answers -1 and the store counts it invalid.
const CURRENT = `local cur = redis.pcall('GET', KEYS[1])
if type(cur) == 'table' and cur.err then return -1 end
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

const SOURCES = { MARK, UNMARK, PIN, UNPIN } as const;
const SHA = Object.fromEntries(Object.entries(SOURCES).map(([name, src]) => [name, createHash('sha1').update(src).digest('hex')])) as Record<keyof typeof SOURCES, string>;

/** The key names of one store. */
export interface StoreKeys {
  markPrefix: string;
  pinPrefix: string;
  channel: string;
}

/** Builds script calls for changes and reads their replies. */
export class RedisScripts {
  constructor(
    private readonly keys: StoreKeys,
    private readonly announce: (change: StateChange, now: number) => string,
  ) {}

  /** Loads every script into Redis's script cache (after each connect: a restarted Redis has forgotten them). */
  async load(client: CommandSender, deadline: BatchDeadline): Promise<void> {
    const replies = await sendBatch(client, Object.values(SOURCES).map((src) => ['SCRIPT', 'LOAD', src]), deadline, 'script load');
    const failed = replies.find((r) => !r.ok);
    if (failed && !failed.ok) throw new SipLocateError('ESTOREDOWN', `Redis refused to load the store scripts: ${failed.error.message}`);
  }

  /** The store key a change writes. */
  keyOf(change: StateChange): string | undefined {
    switch (change.op) {
      case 'mark': return this.keys.markPrefix + targetKeyOf(change.mark);
      case 'unmark': return this.keys.markPrefix + targetKeyOf(change.target);
      case 'pin': return this.keys.pinPrefix + change.pin.destination;
      case 'unpin': return this.keys.pinPrefix + change.destination;
      default: return undefined;
    }
  }

  /** The EVALSHA call for one change, or undefined when there is nothing to write (expired record, `expired`). */
  command(change: StateChange, now: number): string[] | undefined {
    const { markPrefix, pinPrefix, channel } = this.keys;
    switch (change.op) {
      case 'mark': {
        const ttl = ttlOf(change, now);
        if (ttl <= 0) return undefined;
        return ['EVALSHA', SHA.MARK, '1', markPrefix + targetKeyOf(change.mark), JSON.stringify(change.mark), String(ttl), channel, this.announce(change, now), change.mark.mark];
      }
      case 'unmark':
        return ['EVALSHA', SHA.UNMARK, '1', markPrefix + targetKeyOf(change.target), channel, this.announce(change, now)];
      case 'pin': {
        const ttl = ttlOf(change, now);
        if (ttl <= 0) return undefined;
        const replaces = change.replaces ? targetKeyOf(change.replaces) : '';
        return ['EVALSHA', SHA.PIN, '1', pinPrefix + change.pin.destination, JSON.stringify(change.pin), String(ttl), channel, this.announce(change, now), targetKeyOf(change.pin.target), replaces, markPrefix];
      }
      case 'unpin':
        return ['EVALSHA', SHA.UNPIN, '1', pinPrefix + change.destination, targetKeyOf(change.target), channel, this.announce(change, now)];
      default:
        return undefined;
    }
  }

  /** What one script reply means for its change. */
  outcome(change: StateChange, reply: BatchReply, now: number): WriteOutcome {
    const key = this.keyOf(change);
    if (!reply.ok) return { key, invalid: new SipLocateError('ESTORERECORD', `Redis refused the write of ${key ?? change.op}: ${reply.error.message.slice(0, 200)}`) };
    if (reply.value === -1) return { key, invalid: new SipLocateError('ESTORERECORD', `The Redis key ${key} holds another type than a string; it is left alone.`) };
    if (change.op !== 'pin' || !Array.isArray(reply.value)) return {};
    const [raw, pttl] = reply.value as [unknown, unknown];
    const standing = readStanding(raw, now + Math.max(0, Number(pttl)), change.pin.destination);
    return standing ? { standing } : { key, invalid: new SipLocateError('ESTORERECORD', `The Redis key ${key} does not hold a valid pin.`) };
  }
}

/** True when a reply says the script cache lacks the script (Redis restarted or was flushed). */
export function isNoScript(reply: BatchReply): boolean {
  return !reply.ok && reply.error.message.startsWith('NOSCRIPT');
}

function readStanding(raw: unknown, expiresAt: number, destination: string): PinRecord | undefined {
  if (typeof raw !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const pin = readPin(parsed, expiresAt);
  return pin && pin.destination === destination ? pin : undefined;
}
