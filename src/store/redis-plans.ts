/** Last good plans in Redis: one string key per destination, `<prefix>:plan:<destination>`, expiring after staleSeconds. */
import { SipLocateError } from '../core/errors';
import type { PlanRecord, StateChange } from '../core/types';
import type { BatchReply } from './pipeline';
import { MAX_PLAN_BYTES } from '../core/rfc3263/plan-record';
import { readPlan, ttlOf } from './records';
import type { WriteOutcome } from './types';

/**
 * Longest value the catch-up reads from a key (a larger one is skipped in Redis and never sent): twice a plan's
 * byte bound, as planRecordBytes() estimates the JSON size; marks, pins and operator states are far smaller.
 */
export const MAX_VALUE_BYTES = 2 * MAX_PLAN_BYTES;

/** The SET commands for the plans among `changes` (other changes are left to the write script), and their indexes. */
export function planWrites(
  changes: readonly StateChange[],
  planPrefix: string,
  now: number,
): { commands: string[][]; sent: number[] } {
  const commands: string[][] = [];
  const sent: number[] = [];
  changes.forEach((change, i) => {
    if (change.op !== 'plan') return;
    const ttl = ttlOf(change, now);
    if (ttl <= 0) return;
    commands.push([
      'SET',
      planPrefix + change.plan.destination,
      JSON.stringify(change.plan),
      'PX',
      String(Math.ceil(ttl)),
    ]);
    sent.push(i);
  });
  return { commands, sent };
}

/** Puts what Redis answered to the plan writes into `out` (a refused SET is an invalid outcome for its key). */
export function planOutcomes(
  out: WriteOutcome[],
  changes: readonly StateChange[],
  sent: readonly number[],
  replies: ReadonlyArray<BatchReply | undefined>,
  planPrefix: string,
): void {
  sent.forEach((i, j) => {
    const reply = replies[j];
    const change = changes[i]!;
    if (!reply) throw new SipLocateError('ESTOREDOWN', 'Redis did not answer a batch of writes.');
    if (!reply.ok && change.op === 'plan') {
      const key = planPrefix + change.plan.destination;
      out[i] = {
        key,
        invalid: new SipLocateError(
          'ESTORERECORD',
          `Redis refused to write the plan key ${key}: ${reply.error.message.slice(0, 200)}`,
        ),
      };
    }
  });
}

/** The plan a key holds, with its expiry from the key's time left; undefined when it is not a valid plan for its name. */
export function decodePlan(
  key: string,
  parsed: unknown,
  planPrefix: string,
  expiresAt: number,
): PlanRecord | undefined {
  const plan = readPlan(parsed, expiresAt);
  return plan && planPrefix + plan.destination === key ? plan : undefined;
}
