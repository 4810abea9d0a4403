/** The Retrier: which nameservers a question goes to, each one's retransmission timer and 0x20 memory; the question itself is question.ts. */
import { SipLocateError } from '../errors';
import type { Reply } from './codec';
import { fairShareKey } from './names';
import type { Nameserver } from './nameservers';
import { Question, type QuestionHost, type RetryConfig } from './question';
import { RetransmitTimer } from './rto';
import type { RecordType } from './types';

/** How long 0x20 stays off for a server that dropped the case of a question, before it is tried again, ms. */
export const CASE_REPROBE_MS = 10 * 60 * 1000;

/** Asks one question of the nameservers: one socket per server, retransmissions and a hedged copy, UDP/TCP and the EDNS and 0x20 fallbacks. */
export class Retrier implements QuestionHost {
  /** Servers that dropped the 0x20 case, and when to try 0x20 with them again (ms); bounded by the nameserver list. */
  private readonly caseBroken = new Map<string, number>();
  /** Each nameserver's retransmission timer; bounded by the nameserver list. */
  private readonly timers = new Map<string, RetransmitTimer>();

  /** config: servers, timeouts and the shared limiter and counters. */
  constructor(readonly config: RetryConfig) {}

  /**
   * Asks the healthy nameservers first (failing ones only when no healthy one is left) and returns the first usable
   * NOERROR/NXDOMAIN reply. Failing servers due for a retry get a copy in the background. `signal` (aborted when
   * nobody waits any more, or on close) cancels waiting and sockets; limiter refusals end it. `mayHedge` is asked
   * before a copy goes to a second nameserver (the caller's question budget).
   */
  exchange(
    qname: string,
    type: RecordType,
    signal: AbortSignal,
    mayHedge?: () => boolean,
  ): Promise<{ reply: Reply; ns: Nameserver }> {
    const { health } = this.config;
    const { servers, healthy, probes } = health.order(health.startOf());
    for (const ns of probes) this.run(qname, type, [ns], 1, 1, false, this.config.closed).catch(() => undefined);
    return this.run(
      qname,
      type,
      servers,
      healthy === 0 ? servers.length : healthy,
      this.config.tries,
      this.config.hedge,
      signal,
      mayHedge,
    );
  }

  /** How long the classic schedule waits on one server: timeoutMs doubling per try, capped, summed over `tries`, ms. */
  budgetMs(tries: number): number {
    const { timeoutMs, maxTimeoutMs } = this.config;
    let sum = 0;
    for (let k = 0; k < tries; k++)
      sum += Math.min(Math.max(timeoutMs, maxTimeoutMs), timeoutMs * 2 ** Math.min(20, k));
    return sum;
  }

  /** The retransmission timer of a nameserver. */
  timerOf(ns: Nameserver): RetransmitTimer {
    let t = this.timers.get(ns.label);
    if (!t) {
      t = new RetransmitTimer({
        initialMs: this.config.timeoutMs,
        maxMs: this.config.maxTimeoutMs,
        adaptive: this.config.adaptive,
      });
      this.timers.set(ns.label, t);
    }
    return t;
  }

  /** Whether 0x20 may be used with a server: never turned off, or its re-probe time has come. */
  caseAllowed(label: string): boolean {
    const until = this.caseBroken.get(label);
    if (until === undefined) return true;
    if (until > this.config.now()) return false;
    this.caseBroken.delete(label);
    return true;
  }

  /** Turns 0x20 off for a server until CASE_REPROBE_MS from now. */
  caseFailed(label: string): void {
    this.caseBroken.set(label, this.config.now() + CASE_REPROBE_MS);
  }

  private run(
    qname: string,
    type: RecordType,
    servers: Nameserver[],
    healthy: number,
    tries: number,
    hedge: boolean,
    signal: AbortSignal,
    mayHedge?: () => boolean,
  ): Promise<{ reply: Reply; ns: Nameserver }> {
    return this.config.limiter.run(fairShareKey(qname), signal, () => {
      if (this.config.closed.aborted)
        return Promise.reject(
          new SipLocateError('ECLOSED', `The DNS client was closed before asking for ${type} ${qname}.`, {
            name: qname,
            type,
          }),
        );
      if (signal.aborted)
        return Promise.reject(
          new SipLocateError('ECANCELLED', `Nobody waits for ${type} ${qname} any more.`, { name: qname, type }),
        );
      return new Question(this, qname, type, servers, healthy, tries, hedge, signal, mayHedge).run();
    });
  }
}
