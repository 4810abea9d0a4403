import { randomInt } from 'node:crypto';
import { SipLocateError, type ErrorCode } from '../errors';
import type { Reply } from './codec';
import type { ExchangeOutcome, ExchangeRequest } from './exchange';
import type { NameserverHealth } from './health';
import type { InFlightLimiter } from './limiter';
import { fairShareKey, randomiseCase } from './names';
import type { Nameserver } from './nameservers';
import { tcpExchange } from './tcp';
import type { DnsClientStats, RecordType } from './types';
import { udpExchange } from './udp';

/** How long 0x20 stays off for a server that dropped the case of a question, before it is tried again, ms. */
export const CASE_REPROBE_MS = 10 * 60 * 1000;

const RCODE_ERRORS: Record<string, ErrorCode> = {
  SERVFAIL: 'ESERVFAIL',
  REFUSED: 'EREFUSED',
  NOTIMP: 'ENOTIMP',
  FORMERR: 'EFORMERR',
};

/** Outcomes that count against a nameserver's health. */
const HEALTH_FAILURES: ReadonlySet<string> = new Set(['ETIMEOUT', 'ECONNREFUSED', 'ESERVFAIL', 'EREFUSED']);

/** What the retry loop needs from its client. */
export interface RetryConfig {
  health: NameserverHealth;
  /** Timeout of the first round, ms; each later round doubles it up to maxTimeoutMs. */
  timeoutMs: number;
  maxTimeoutMs: number;
  tries: number;
  use0x20: boolean;
  limiter: InFlightLimiter;
  counters: DnsClientStats;
  /** Milliseconds clock (0x20 re-probe). */
  now: () => number;
  /** Aborted when the client closes (the signal of background probes). */
  closed: AbortSignal;
}

/** Asks one question of the nameservers: rounds over the list, one attempt per server, UDP/TCP and the EDNS and 0x20 fallbacks. */
export class Retrier {
  /** Servers that dropped the 0x20 case, and when to try 0x20 with them again (ms). */
  private readonly caseBroken = new Map<string, number>();

  /** config: servers, timeouts and the shared limiter and counters. */
  constructor(private readonly config: RetryConfig) {}

  /**
   * Tries the nameservers, healthy ones first, `tries` rounds; returns the first usable NOERROR/NXDOMAIN reply.
   * Failing servers due for a retry get a copy of the first round's question in the background. `signal` (aborted
   * when nobody waits any more, or on close) cancels waiting and sockets; limiter refusals end the loop.
   */
  async exchange(qname: string, type: RecordType, signal: AbortSignal): Promise<{ reply: Reply; ns: Nameserver }> {
    const { health, tries } = this.config;
    let lastError: SipLocateError | undefined;
    const refused = new Set<string>();
    const start = health.startOf();
    for (let round = 0; round < tries; round++) {
      const { servers, probes } = health.order(start);
      for (const ns of probes) this.attempt(qname, type, ns, 0, this.config.closed).catch(() => undefined);
      for (const ns of servers) {
        if (refused.has(ns.label)) continue;
        const result = await this.attempt(qname, type, ns, round, signal);
        if (!(result instanceof SipLocateError)) return { reply: result, ns };
        if (result.code === 'ECLOSED' || result.code === 'ECANCELLED') throw result;
        if (result.code === 'ECONNREFUSED') refused.add(ns.label);
        lastError = result;
      }
      if (refused.size === servers.length) break;
    }
    throw lastError ?? new SipLocateError('ETIMEOUT', `No answer for ${type} ${qname}.`, { name: qname, type });
  }

  /** The retransmission timeout of a round: doubled per round, capped. */
  timeoutFor(round: number): number {
    const { timeoutMs, maxTimeoutMs } = this.config;
    return Math.min(Math.max(timeoutMs, maxTimeoutMs), timeoutMs * 2 ** Math.min(20, round));
  }

  /**
   * One attempt, run when the limiter gives it a slot (rejects with the limiter's EOVERLOAD, ETIMEOUT or
   * ECANCELLED when it never gets one); its outcome updates the server's health.
   */
  private attempt(qname: string, type: RecordType, ns: Nameserver, round: number, signal: AbortSignal): Promise<Reply | SipLocateError> {
    return this.config.limiter.run(fairShareKey(qname), signal, async () => {
      if (this.config.closed.aborted) return new SipLocateError('ECLOSED', `The DNS client was closed before asking ${ns.label} for ${type} ${qname}.`, { name: qname, type });
      if (signal.aborted) return new SipLocateError('ECANCELLED', `Nobody waits for ${type} ${qname} any more.`, { name: qname, type });
      const result = await this.attemptNow(qname, type, ns, this.timeoutFor(round), signal);
      if (!(result instanceof SipLocateError)) this.config.health.succeeded(ns);
      else if (HEALTH_FAILURES.has(result.code)) this.config.health.failed(ns, result.code);
      return result;
    });
  }

  /** One attempt at one nameserver: UDP, then TCP on TC or a wrong ID; EDNS and 0x20 fallbacks. */
  private async attemptNow(qname: string, type: RecordType, ns: Nameserver, timeoutMs: number, signal: AbortSignal): Promise<Reply | SipLocateError> {
    const counters = this.config.counters;
    let with0x20 = this.config.use0x20 && this.caseAllowed(ns.label);
    let edns = true;
    let outcome: ExchangeOutcome;
    for (let pass = 0; ; pass++) {
      counters.udpAttempts++;
      outcome = await udpExchange(this.request(ns, with0x20 ? randomiseCase(qname) : qname, type, edns, timeoutMs, signal), counters);
      if (pass > 0) break;
      if (outcome.kind === 'timeout' && outcome.caseMismatches > 0 && with0x20) {
        this.caseBroken.set(ns.label, this.config.now() + CASE_REPROBE_MS);
        with0x20 = false;
        continue;
      }
      if (outcome.kind === 'reply' && outcome.reply.rcode === 'FORMERR' && !outcome.reply.hasOpt && edns) {
        edns = false;
        continue;
      }
      break;
    }
    if (outcome.kind === 'truncated' || outcome.kind === 'spoof') {
      if (outcome.kind === 'truncated') counters.truncated++;
      counters.tcpAttempts++;
      outcome = await tcpExchange(this.request(ns, qname, type, edns, timeoutMs, signal), counters);
    }
    return this.interpret(outcome, qname, type, ns, timeoutMs);
  }

  /** Whether 0x20 may be used with a server: never turned off, or its re-probe time has come. */
  private caseAllowed(label: string): boolean {
    const until = this.caseBroken.get(label);
    if (until === undefined) return true;
    if (until > this.config.now()) return false;
    this.caseBroken.delete(label);
    return true;
  }

  private request(ns: Nameserver, wireName: string, type: RecordType, edns: boolean, timeoutMs: number, signal: AbortSignal): ExchangeRequest {
    return { ns, id: randomInt(65536), wireName, type, edns, timeoutMs, signal };
  }

  private interpret(outcome: ExchangeOutcome, qname: string, type: RecordType, ns: Nameserver, timeoutMs: number): Reply | SipLocateError {
    const details = { name: qname, type, nameserver: ns.label };
    const q = `${type} ${qname}`;
    switch (outcome.kind) {
      case 'reply': {
        const rcode = outcome.reply.rcode;
        if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') return outcome.reply;
        const code = RCODE_ERRORS[rcode] ?? 'EBADRESP';
        return new SipLocateError(code, `The nameserver ${ns.label} answered ${rcode} for ${q}.`, details);
      }
      case 'timeout':
        this.config.counters.timeouts++;
        return new SipLocateError('ETIMEOUT', `No answer from ${ns.label} for ${q} within ${timeoutMs} ms.`, details);
      case 'refused':
        return new SipLocateError('ECONNREFUSED', `The nameserver ${ns.label} refused the connection for ${q}.`, details);
      case 'malformed':
        return new SipLocateError('EBADRESP', `The nameserver ${ns.label} sent a malformed reply for ${q} (${outcome.reason}).`, details);
      case 'neterror':
        return new SipLocateError('EBADRESP', `No usable reply from ${ns.label} for ${q}: ${outcome.message}.`, details);
      case 'aborted':
        if (!this.config.closed.aborted) return new SipLocateError('ECANCELLED', `Nobody waits for ${q} any more: the question to ${ns.label} was dropped.`, details);
        return new SipLocateError('ECLOSED', `The DNS client was closed while asking ${ns.label} for ${q}.`, details);
      default:
        return new SipLocateError('EBADRESP', `No usable reply from ${ns.label} for ${q}.`, details);
    }
  }
}
