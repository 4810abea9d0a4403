import { withDeadline } from '../deadline';
import { SipLocateError } from '../errors';
import type { Reply } from './codec';
import type { Nameserver } from './nameservers';
import type { RecordType } from './types';

/** One question sent to one nameserver over one transport. */
export interface ExchangeRequest {
  ns: Nameserver;
  id: number;
  /** The question name as sent (0x20 case applied over UDP). */
  wireName: string;
  type: RecordType;
  edns: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** How one exchange ended. */
export type ExchangeOutcome =
  | { kind: 'reply'; reply: Reply; bytes: number }
  | { kind: 'truncated' }
  | { kind: 'spoof' }
  | { kind: 'malformed'; reason: string }
  | { kind: 'timeout'; caseMismatches: number }
  | { kind: 'refused' }
  | { kind: 'neterror'; message: string }
  | { kind: 'aborted' };

/** Counters an exchange adds to (shared with the client's stats). */
export interface ExchangeCounters {
  mismatched: number;
  spoofSuspected: number;
  malformed: number;
}

/** Whether a decoded reply answers the request: 'ok', 'case' (same question, other case) or 'mismatch'. */
export function matchReply(
  reply: Reply,
  req: Pick<ExchangeRequest, 'id' | 'wireName' | 'type'>,
  caseSensitive: boolean,
): 'ok' | 'case' | 'mismatch' {
  if (!reply.isResponse || reply.opcode !== 'QUERY' || reply.id !== req.id) return 'mismatch';
  const q = reply.question;
  if (q.type !== req.type || q.klass !== 'IN') return 'mismatch';
  const got = q.name.endsWith('.') ? q.name.slice(0, -1) : q.name;
  if (got === req.wireName) return 'ok';
  if (got.toLowerCase() === req.wireName.toLowerCase()) return caseSensitive ? 'case' : 'ok';
  return 'mismatch';
}

/**
 * Runs one exchange under its timeout and the caller's signal (core/deadline.ts): the work's signal aborts when
 * either ends it first, and the outcome is then 'timeout' or 'aborted'. The timer and listener go when it settles.
 */
export function underDeadline(
  req: ExchangeRequest,
  work: (signal: AbortSignal) => Promise<ExchangeOutcome>,
): Promise<ExchangeOutcome> {
  const d = { name: req.wireName, type: req.type, nameserver: req.ns.label };
  return withDeadline(work, {
    ms: req.timeoutMs,
    signal: req.signal,
    ref: true,
    timeout: () => new SipLocateError('ETIMEOUT', `No answer from ${req.ns.label} within ${req.timeoutMs} ms.`, d),
    cancelled: () => new SipLocateError('ECANCELLED', `Nobody waits for ${req.type} ${req.wireName} any more.`, d),
  }).catch((err: unknown): ExchangeOutcome =>
    err instanceof SipLocateError && err.code === 'ETIMEOUT'
      ? { kind: 'timeout', caseMismatches: 0 }
      : { kind: 'aborted' },
  );
}
