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
export function matchReply(reply: Reply, req: Pick<ExchangeRequest, 'id' | 'wireName' | 'type'>, caseSensitive: boolean): 'ok' | 'case' | 'mismatch' {
  if (!reply.isResponse || reply.opcode !== 'QUERY' || reply.id !== req.id) return 'mismatch';
  const q = reply.question;
  if (q.type !== req.type || q.klass !== 'IN') return 'mismatch';
  const got = q.name.endsWith('.') ? q.name.slice(0, -1) : q.name;
  if (got === req.wireName) return 'ok';
  if (got.toLowerCase() === req.wireName.toLowerCase()) return caseSensitive ? 'case' : 'ok';
  return 'mismatch';
}

/**
 * Settles an exchange exactly once: the first outcome wins; the timer, the abort listener and the socket
 * (through `release`) are cleaned up. Returns the function that settles it.
 */
export function settleOnce(
  req: ExchangeRequest,
  release: () => void,
  resolve: (o: ExchangeOutcome) => void,
  onTimeout: () => ExchangeOutcome = () => ({ kind: 'timeout', caseMismatches: 0 }),
): { finish: (o: ExchangeOutcome) => void; settled: () => boolean } {
  let done = false;
  const finish = (outcome: ExchangeOutcome): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
    release();
    resolve(outcome);
  };
  const onAbort = (): void => finish({ kind: 'aborted' });
  const timer = setTimeout(() => finish(onTimeout()), req.timeoutMs);
  if (req.signal?.aborted) finish({ kind: 'aborted' });
  else req.signal?.addEventListener('abort', onAbort, { once: true });
  return { finish, settled: () => done };
}
