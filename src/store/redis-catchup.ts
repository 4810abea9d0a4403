/** Reading everything a Redis store holds, in SCAN batches: one pipelined round trip per batch, the event loop free between batches. */
import { SipLocateError } from '../core/errors';
import { targetId } from '../core/target';
import type { LocatorState } from '../core/types';
import { sendBatch, type BatchDeadline, type BatchReply, type CommandSender } from './pipeline';
import { readAdmin, readMark, readPin } from './records';
import { decodePlan, MAX_VALUE_BYTES } from './redis-plans';

/** Keys read per batch. */
const SCAN_COUNT = 500;
/** PTTL answer the read script gives for a key of another type than string. */
const WRONG_TYPE = -3;
/** PTTL answer the read script gives for a value longer than MAX_VALUE_BYTES (not sent, so never parsed). */
const TOO_LARGE = -4;
// Reads value and time left of every key in one call: {value1, pttl1, value2, pttl2, ...}.
const READ = `local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.pcall('GET', k)
  if type(v) == 'table' and v.err then
    out[2 * i - 1] = false
    out[2 * i] = ${WRONG_TYPE}
  elseif type(v) == 'string' and #v > ${MAX_VALUE_BYTES} then
    out[2 * i - 1] = false
    out[2 * i] = ${TOO_LARGE}
  else
    out[2 * i - 1] = v
    out[2 * i] = redis.call('PTTL', k)
  end
end
return out`;
/** Attempts per batch before the catch-up gives up. */
const ATTEMPTS = 3;

/** What the catch-up needs to know about the store. */
export interface CatchUpOptions {
  client: CommandSender;
  /** What every key of the store starts with: StoreKeys.base (keys.ts). */
  prefix: string;
  markPrefix: string;
  pinPrefix: string;
  /** Operator states' key prefix (absent: none are read). */
  adminPrefix?: string;
  /** Last good plans are read too when given. */
  planPrefix?: string;
  deadline: BatchDeadline;
  /** The whole read must finish within this many ms. */
  totalMs: number;
  now(): number;
  invalid(error: SipLocateError, key: string): void;
}

/** Escapes glob characters for SCAN MATCH. */
export function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Sends one batch, retrying that batch only (up to ATTEMPTS times) while the overall deadline allows. */
async function attempt(o: CatchUpOptions, commands: string[][], endAt: number): Promise<BatchReply[]> {
  for (let i = 1; ; i++) {
    try {
      return await sendBatch(o.client, commands, o.deadline, 'catch-up');
    } catch (err) {
      if (i >= ATTEMPTS || o.now() >= endAt) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * i).unref());
    }
  }
}

function scanCommand(o: CatchUpOptions, cursor: string): string[] {
  return ['SCAN', cursor, 'MATCH', `${globEscape(o.prefix)}:*`, 'COUNT', String(SCAN_COUNT)];
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** Turns the read script's reply for `keys` into marks and pins; anything else is counted invalid. */
function decode(o: CatchUpOptions, keys: readonly string[], reply: BatchReply | undefined, now: number): LocatorState {
  const out: LocatorState = { marks: [], pins: [] };
  if (!reply?.ok || !Array.isArray(reply.value))
    throw new SipLocateError(
      'ESTOREDOWN',
      `Redis did not answer the catch-up read${reply && !reply.ok ? `: ${reply.error.message.slice(0, 200)}` : ''}.`,
    );
  const values = reply.value as unknown[];
  keys.forEach((key, i) => {
    const value = values[2 * i];
    const pttl = values[2 * i + 1];
    if (pttl === WRONG_TYPE) {
      o.invalid(
        new SipLocateError('ESTORERECORD', `The Redis key ${key} holds another type than a string and was skipped.`),
        key,
      );
      return;
    }
    if (pttl === TOO_LARGE) {
      o.invalid(
        new SipLocateError(
          'ESTORERECORD',
          `The Redis key ${key} holds more than ${MAX_VALUE_BYTES} bytes and was skipped.`,
        ),
        key,
      );
      return;
    }
    const isAdmin = o.adminPrefix !== undefined && key.startsWith(o.adminPrefix);
    // -1: no expiry, which only operator states may have
    if (typeof value !== 'string' || typeof pttl !== 'number' || (pttl <= 0 && !(isAdmin && pttl === -1))) return;
    const parsed = parseJson(value);
    if (isAdmin) {
      const admin = readAdmin(parsed, pttl === -1 ? null : now + pttl);
      if (admin && admin.state !== 'enable' && o.adminPrefix + targetId(admin) === key) (out.admin ??= []).push(admin);
      else
        o.invalid(
          new SipLocateError(
            'ESTORERECORD',
            `The Redis key ${key} does not hold a valid operator state for its name and was skipped.`,
          ),
          key,
        );
      return;
    }
    if (key.startsWith(o.markPrefix)) {
      const mark = readMark(parsed, now + pttl);
      if (mark && o.markPrefix + targetId(mark) === key) out.marks.push(mark);
      else
        o.invalid(
          new SipLocateError(
            'ESTORERECORD',
            `The Redis key ${key} does not hold a valid mark for its name and was skipped.`,
          ),
          key,
        );
    } else if (key.startsWith(o.pinPrefix)) {
      const pin = readPin(parsed, now + pttl);
      if (pin && o.pinPrefix + pin.destination === key) out.pins.push(pin);
      else
        o.invalid(
          new SipLocateError(
            'ESTORERECORD',
            `The Redis key ${key} does not hold a valid pin for its name and was skipped.`,
          ),
          key,
        );
    } else if (o.planPrefix !== undefined && key.startsWith(o.planPrefix)) {
      const plan = decodePlan(key, parsed, o.planPrefix, now + pttl);
      if (plan) (out.plans ??= []).push(plan);
      else
        o.invalid(
          new SipLocateError(
            'ESTORERECORD',
            `The Redis key ${key} does not hold a valid plan for its name and was skipped.`,
          ),
          key,
        );
    }
  });
  return out;
}

/** Reads every mark and pin under the prefix batch by batch, handing each to `apply`; rejects on the overall deadline. */
export async function catchUp(o: CatchUpOptions, apply: (batch: LocatorState) => void): Promise<void> {
  const endAt = o.now() + o.totalMs;
  // Each round trip reads the values of one SCAN page and asks for the next page at the same time.
  let [reply] = await attempt(o, [scanCommand(o, '0')], endAt);
  for (;;) {
    if (!reply?.ok || !Array.isArray(reply.value))
      throw new SipLocateError('ESTOREDOWN', 'Redis answered SCAN with something else than a cursor and keys.');
    const [cursor, found] = reply.value as [string, string[]];
    const keys = found.filter(
      (k) =>
        k.startsWith(o.markPrefix) ||
        k.startsWith(o.pinPrefix) ||
        (o.adminPrefix !== undefined && k.startsWith(o.adminPrefix)) ||
        (o.planPrefix !== undefined && k.startsWith(o.planPrefix)),
    );
    const more = cursor !== '0';
    const commands = keys.length > 0 ? [['EVAL', READ, String(keys.length), ...keys]] : [];
    if (more) commands.push(scanCommand(o, cursor));
    if (commands.length === 0) return;
    if (o.now() >= endAt)
      throw new SipLocateError('ESTORETIMEOUT', `Reading the Redis store took longer than ${o.totalMs} ms.`);
    const replies = await attempt(o, commands, endAt);
    if (keys.length > 0) apply(decode(o, keys, replies[0], o.now()));
    if (!more) return;
    reply = replies[replies.length - 1];
    await yieldToLoop();
  }
}
