/** The Lua scripts of the Redis store: each writes one change and announces it in one step. */
import { createHash } from 'node:crypto';
import { SipLocateError } from '../core/errors';
import { targetId } from '../core/target';
import type { PinRecord, StateChange } from '../core/types';
import { sendBatch, type BatchDeadline, type BatchReply, type CommandSender } from './pipeline';
import { readPin, ttlOf } from './records';
import type { StoreKeys } from './keys';
import type { WriteOutcome } from './types';

// One script writes a whole batch and announces what it changed in one message, in the order Redis applied it,
// so other instances see changes in that order. It touches only keys it is given (KEYS), as Redis Cluster requires.
// ARGV: channel, the message head, the publish command (PUBLISH, or SPUBLISH for a Cluster shard channel), then seven
// arguments per change: op, record, ttl (ms), the change's part of the message, and three op-specific values
// (mark: kind; pin: own target key, replaced target key, the standing pin's target key as the caller believes it;
// unpin: the failed target key). KEYS per change: the record's key; for a pin whose seventh argument is set, also the
// mark keys of its own target and of that believed standing target (only a pin that meets another instance's pin needs them).
// Each change answers -1 (a key of another type: left alone), 0 or 1, or, for a pin that lost to an earlier writer,
// {standing pin, its ms left}; {standing pin, ms left, 1} means the standing pin's target was not the declared one:
// send the pin again declaring it.
const WRITE = `local channel, head, publish = ARGV[1], ARGV[2], ARGV[3]
local function write(key, op, rec, ttl, msg, x, y, z, xmark, zmark)
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
      if z == '' or k ~= z then return {cur, redis.call('PTTL', key), 1} end
      local stale = redis.call('EXISTS', zmark) == 1 and redis.call('EXISTS', xmark) == 0
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
local out, said, ki = {}, {}, 1
for i = 1, (#ARGV - 3) / 7 do
  local b = 3 + (i - 1) * 7
  local op, z = ARGV[b + 1], ARGV[b + 7]
  local key, xmark, zmark = KEYS[ki], nil, nil
  ki = ki + 1
  if op == 'pin' and z ~= '' then
    xmark, zmark = KEYS[ki], KEYS[ki + 1]
    ki = ki + 2
  end
  out[i] = write(key, op, ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], z, xmark, zmark)
  if out[i] == 1 then said[#said + 1] = ARGV[b + 4] end
end
if #said > 0 then redis.call(publish, channel, head .. table.concat(said, ',') .. ']}') end
return out`;
const WRITE_SHA = createHash('sha1').update(WRITE).digest('hex');

/** Builds the batch script call for changes and reads its replies. */
export class RedisScripts {
  constructor(
    private readonly keys: StoreKeys,
    private readonly announce: (change: StateChange, now: number, record?: string) => string,
    /** The start of every message: `{"from":<id>,"changes":[` (its end is `]}`). */
    private readonly head: string,
  ) {}

  /** PUBLISH, or SPUBLISH where changes go on a shard channel (Cluster on Redis 7 or later). */
  publish: 'PUBLISH' | 'SPUBLISH' = 'PUBLISH';

  /** Loads the script into Redis's script cache (after each connect: a restarted Redis has forgotten it). */
  async load(client: CommandSender, deadline: BatchDeadline): Promise<void> {
    const [reply] = await sendBatch(client, [['SCRIPT', 'LOAD', WRITE]], deadline, 'script load');
    if (reply && !reply.ok)
      throw new SipLocateError(
        'ESTOREDOWN',
        `Redis refused to load the store script: ${reply.error.message.slice(0, 200)}`,
      );
  }

  /** The store key a change writes. */
  keyOf(change: StateChange): string | undefined {
    switch (change.op) {
      case 'mark':
        return this.keys.markPrefix + targetId(change.mark);
      case 'unmark':
        return this.keys.markPrefix + targetId(change.target);
      case 'pin':
        return this.keys.pinPrefix + change.pin.destination;
      case 'unpin':
        return this.keys.pinPrefix + change.destination;
      case 'admin':
        return this.keys.adminPrefix + targetId(change.admin);
      default:
        return undefined;
    }
  }

  /** The seven script arguments and the keys of one change, or undefined when there is nothing to write (expired record, `expired`). */
  private call(
    change: StateChange,
    now: number,
    believed: string | undefined,
  ): { args: string[]; keys: string[] } | undefined {
    const key = this.keyOf(change);
    if (key === undefined) return undefined;
    switch (change.op) {
      case 'mark': {
        const ttl = ttlOf(change, now);
        if (ttl <= 0) return undefined;
        const record = JSON.stringify(change.mark);
        return {
          args: ['mark', record, String(ttl), this.announce(change, now, record), change.mark.mark, '', ''],
          keys: [key],
        };
      }
      case 'unmark':
        return { args: ['unmark', '', '0', this.announce(change, now), '', '', ''], keys: [key] };
      case 'pin': {
        const ttl = ttlOf(change, now);
        if (ttl <= 0) return undefined;
        const record = JSON.stringify(change.pin);
        const own = targetId(change.pin.target);
        const keys = believed ? [key, this.keys.markPrefix + own, this.keys.markPrefix + believed] : [key];
        return {
          args: [
            'pin',
            record,
            String(ttl),
            this.announce(change, now, record),
            own,
            change.replaces ? targetId(change.replaces) : '',
            believed ?? '',
          ],
          keys,
        };
      }
      case 'unpin':
        return { args: ['unpin', '', '0', this.announce(change, now), targetId(change.target), '', ''], keys: [key] };
      case 'admin': {
        const ttl = ttlOf(change, now);
        if (change.admin.expiresAt !== undefined && ttl <= 0) return undefined;
        const record = JSON.stringify(change.admin);
        return {
          args: ['admin', record, String(ttl), this.announce(change, now), change.admin.state, '', ''],
          keys: [key],
        };
      }
      default:
        return undefined;
    }
  }

  /**
   * One EVALSHA call writing every change that has something to write (or only those in `believed`, each with
   * the standing pin's target it is to be checked against), and the indexes of those changes.
   */
  command(
    changes: readonly StateChange[],
    now: number,
    believed?: ReadonlyMap<number, string>,
  ): { command: string[]; sent: number[] } | undefined {
    const keys: string[] = [];
    const args: string[] = [];
    const sent: number[] = [];
    changes.forEach((change, i) => {
      if (believed && !believed.has(i)) return;
      const c = this.call(change, now, believed?.get(i));
      if (!c) return;
      keys.push(...c.keys);
      args.push(...c.args);
      sent.push(i);
    });
    if (keys.length === 0) return undefined;
    return {
      command: [
        'EVALSHA',
        WRITE_SHA,
        String(keys.length),
        ...keys,
        this.keys.channel,
        this.head,
        this.publish,
        ...args,
      ],
      sent,
    };
  }

  /**
   * What the script's answer means for each change (unsent changes get an empty outcome). With `recheck`, pins
   * whose standing pin points at an undeclared target are put there (index to that target's key) to be sent
   * again; without it they count as lost to the standing pin.
   */
  outcomes(
    changes: readonly StateChange[],
    sent: readonly number[],
    reply: BatchReply,
    now: number,
    recheck?: Map<number, string>,
  ): WriteOutcome[] {
    const out: WriteOutcome[] = changes.map(() => ({}));
    if (!reply.ok) {
      for (const i of sent)
        out[i] = {
          key: this.keyOf(changes[i]!),
          invalid: new SipLocateError(
            'ESTORERECORD',
            `Redis refused a batch of writes: ${reply.error.message.slice(0, 200)}`,
          ),
        };
      return out;
    }
    const values = Array.isArray(reply.value) ? (reply.value as unknown[]) : [];
    sent.forEach((i, j) => {
      const change = changes[i]!;
      const value = values[j];
      const key = this.keyOf(change);
      if (value === -1)
        out[i] = {
          key,
          invalid: new SipLocateError(
            'ESTORERECORD',
            `The Redis key ${key} holds another type than a string; it is left alone.`,
          ),
        };
      else if (change.op === 'pin' && Array.isArray(value)) {
        const [raw, pttl, undeclared] = value as [unknown, unknown, unknown];
        const standing = readStanding(raw, now + Math.max(0, Number(pttl)), change.pin.destination);
        if (standing && undeclared === 1 && recheck) recheck.set(i, targetId(standing.target));
        else
          out[i] = standing
            ? { standing }
            : { key, invalid: new SipLocateError('ESTORERECORD', `The Redis key ${key} does not hold a valid pin.`) };
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
