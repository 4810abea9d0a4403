/** The Lua scripts of the Redis store: each writes one change and announces it in one step. */
import { createHash } from 'node:crypto';
import { SipLocateError } from '../core/errors';
import { targetKeyOf } from '../core/failover/marks';
import type { PinRecord, StateChange } from '../core/types';
import { sendBatch, type BatchDeadline, type BatchReply, type CommandSender } from './pipeline';
import { readPin, ttlOf } from './records';
import type { WriteOutcome } from './types';

// One script writes a whole batch and announces what it changed in one message, in the order Redis applied it,
// so other instances see changes in that order. ARGV: mark prefix, channel, the message head, then six arguments
// per key: op, record, ttl (ms), the change's part of the message, and two op-specific values (mark: kind; pin: own target key, replaced target key;
// unpin: the failed target key). Each change answers -1 (a key of another type: left alone), 0 or 1, or, for a
// pin that lost to an earlier writer, {standing pin, its ms left}.
const WRITE = `local markPrefix, channel, head = ARGV[1], ARGV[2], ARGV[3]
local function write(key, op, rec, ttl, msg, x, y)
  local cur = redis.pcall('GET', key)
  if type(cur) == 'table' and cur.err then return -1 end
  local old, k
  if cur then
    local ok, v = pcall(cjson.decode, cur)
    if ok and type(v) == 'table' then old = v end
  end
  if old and type(old.target) == 'table' then
    k = tostring(old.target.transport) .. '|' .. tostring(old.target.address) .. '|' .. tostring(old.target.port)
  end
  if op == 'mark' then
    -- a live black mark is neither turned grey nor shortened
    if old and old.mark == 'black' and (x == 'grey' or redis.call('PTTL', key) > tonumber(ttl)) then return 0 end
    redis.call('SET', key, rec, 'PX', ttl)
  elseif op == 'unmark' then
    -- clearing a mark removes grey ones only
    if not cur or (old and old.mark == 'black') then return 0 end
    redis.call('DEL', key)
  elseif op == 'pin' then
    -- first writer wins, unless the standing pin is for the same target, the one replaced, or a failed target
    if k and k ~= x and k ~= y then
      local stale = redis.call('EXISTS', markPrefix .. k) == 1 and redis.call('EXISTS', markPrefix .. x) == 0
      if not stale then return {cur, redis.call('PTTL', key)} end
    end
    redis.call('SET', key, rec, 'PX', ttl)
  elseif op == 'admin' then
    -- an operator state: enable deletes it; without a ttl it lasts until changed
    if x == 'enable' then
      if not cur then return 0 end
      redis.call('DEL', key)
    elseif tonumber(ttl) > 0 then redis.call('SET', key, rec, 'PX', ttl)
    else redis.call('SET', key, rec) end
  elseif op == 'unpin' then
    -- only while the pin still points at the failed target (or holds garbage)
    if not cur or (k and k ~= x) then return 0 end
    redis.call('DEL', key)
  else
    return 0
  end
  return 1
end
local out, said = {}, {}
for i, key in ipairs(KEYS) do
  local b = 3 + (i - 1) * 6
  out[i] = write(key, ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6])
  if out[i] == 1 then said[#said + 1] = ARGV[b + 4] end
end
if #said > 0 then redis.call('PUBLISH', channel, head .. table.concat(said, ',') .. ']}') end
return out`;
const WRITE_SHA = createHash('sha1').update(WRITE).digest('hex');

/** The key names of one store. */
export interface StoreKeys {
  markPrefix: string;
  pinPrefix: string;
  /** Operator states: `<prefix>:admin:<transport|address|port>`. */
  adminPrefix: string;
  channel: string;
}

/** Builds the batch script call for changes and reads its replies. */
export class RedisScripts {
  constructor(
    private readonly keys: StoreKeys,
    private readonly announce: (change: StateChange, now: number, record?: string) => string,
    /** The start of every message: `{"from":<id>,"changes":[` (its end is `]}`). */
    private readonly head: string,
  ) {}

  /** Loads the script into Redis's script cache (after each connect: a restarted Redis has forgotten it). */
  async load(client: CommandSender, deadline: BatchDeadline): Promise<void> {
    const [reply] = await sendBatch(client, [['SCRIPT', 'LOAD', WRITE]], deadline, 'script load');
    if (reply && !reply.ok) throw new SipLocateError('ESTOREDOWN', `Redis refused to load the store script: ${reply.error.message.slice(0, 200)}`);
  }

  /** The store key a change writes. */
  keyOf(change: StateChange): string | undefined {
    switch (change.op) {
      case 'mark': return this.keys.markPrefix + targetKeyOf(change.mark);
      case 'unmark': return this.keys.markPrefix + targetKeyOf(change.target);
      case 'pin': return this.keys.pinPrefix + change.pin.destination;
      case 'unpin': return this.keys.pinPrefix + change.destination;
      case 'admin': return this.keys.adminPrefix + targetKeyOf(change.admin);
      default: return undefined;
    }
  }

  /** The six script arguments of one change, or undefined when there is nothing to write (expired record, `expired`). */
  private args(change: StateChange, now: number): string[] | undefined {
    switch (change.op) {
      case 'mark': {
        const ttl = ttlOf(change, now);
        if (ttl <= 0) return undefined;
        const record = JSON.stringify(change.mark);
        return ['mark', record, String(ttl), this.announce(change, now, record), change.mark.mark, ''];
      }
      case 'unmark':
        return ['unmark', '', '0', this.announce(change, now), '', ''];
      case 'pin': {
        const ttl = ttlOf(change, now);
        if (ttl <= 0) return undefined;
        const record = JSON.stringify(change.pin);
        return ['pin', record, String(ttl), this.announce(change, now, record), targetKeyOf(change.pin.target), change.replaces ? targetKeyOf(change.replaces) : ''];
      }
      case 'unpin':
        return ['unpin', '', '0', this.announce(change, now), targetKeyOf(change.target), ''];
      case 'admin': {
        const ttl = ttlOf(change, now);
        if (change.admin.expiresAt !== undefined && ttl <= 0) return undefined;
        const record = JSON.stringify(change.admin);
        return ['admin', record, String(ttl), this.announce(change, now), change.admin.state, ''];
      }
      default:
        return undefined;
    }
  }

  /** One EVALSHA call writing every change that has something to write, and the indexes of those changes. */
  command(changes: readonly StateChange[], now: number): { command: string[]; sent: number[] } | undefined {
    const keys: string[] = [];
    const args: string[] = [];
    const sent: number[] = [];
    changes.forEach((change, i) => {
      const a = this.args(change, now);
      const key = this.keyOf(change);
      if (!a || key === undefined) return;
      keys.push(key);
      args.push(...a);
      sent.push(i);
    });
    if (keys.length === 0) return undefined;
    return { command: ['EVALSHA', WRITE_SHA, String(keys.length), ...keys, this.keys.markPrefix, this.keys.channel, this.head, ...args], sent };
  }

  /** What the script's answer means for each change (unsent changes get an empty outcome). */
  outcomes(changes: readonly StateChange[], sent: readonly number[], reply: BatchReply, now: number): WriteOutcome[] {
    const out: WriteOutcome[] = changes.map(() => ({}));
    if (!reply.ok) {
      for (const i of sent) out[i] = { key: this.keyOf(changes[i]!), invalid: new SipLocateError('ESTORERECORD', `Redis refused a batch of writes: ${reply.error.message.slice(0, 200)}`) };
      return out;
    }
    const values = Array.isArray(reply.value) ? (reply.value as unknown[]) : [];
    sent.forEach((i, j) => {
      const change = changes[i]!;
      const value = values[j];
      const key = this.keyOf(change);
      if (value === -1) out[i] = { key, invalid: new SipLocateError('ESTORERECORD', `The Redis key ${key} holds another type than a string; it is left alone.`) };
      else if (change.op === 'pin' && Array.isArray(value)) {
        const [raw, pttl] = value as [unknown, unknown];
        const standing = readStanding(raw, now + Math.max(0, Number(pttl)), change.pin.destination);
        out[i] = standing ? { standing } : { key, invalid: new SipLocateError('ESTORERECORD', `The Redis key ${key} does not hold a valid pin.`) };
      }
    });
    return out;
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
