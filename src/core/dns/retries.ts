import { randomInt } from 'node:crypto';
import { SipLocateError, type ErrorCode } from '../errors';
import type { Reply } from './codec';
import type { ExchangeOutcome, ExchangeRequest } from './exchange';
import type { InFlightLimiter } from './limiter';
import { randomiseCase } from './names';
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

/** What the retry loop needs from its client. */
export interface RetryConfig {
  servers: readonly Nameserver[];
  timeoutMs: number;
  tries: number;
  use0x20: boolean;
  limiter: InFlightLimiter;
  counters: DnsClientStats;
  /** Milliseconds clock (0x20 re-probe). */
  now: () => number;
  /** Aborted when the client closes. */
  closed: AbortSignal;
}

/** Asks one question of the nameservers: rounds over the list, one attempt per server, UDP/TCP and the EDNS and 0x20 fallbacks. */
export class Retrier {
  /** Servers that dropped the 0x20 case, and when to try 0x20 with them again (ms). */
  private readonly caseBroken = new Map<string, number>();

  /** config: servers, timeouts and the shared limiter and counters. */
  constructor(private readonly config: RetryConfig) {}

  /** Tries the nameservers in order, `tries` rounds; returns the first usable NOERROR/NXDOMAIN reply. */
  async exchange(qname: string, type: RecordType): Promise<{ reply: Reply; ns: Nameserver }> {
    const { servers, tries } = this.config;
    let lastError: SipLocateError | undefined;
    const refused = new Set<string>();
    for (let round = 0; round < tries; round++) {
      for (const ns of servers) {
        if (refused.has(ns.label)) continue;
        const result = await this.attempt(qname, type, ns);
        if (!(result instanceof SipLocateError)) return { reply: result, ns };
        if (result.code === 'ECLOSED') throw result;
        if (result.code === 'ECONNREFUSED') refused.add(ns.label);
        lastError = result;
      }
      if (refused.size === servers.length) break;
    }
    throw lastError ?? new SipLocateError('ETIMEOUT', `No answer for ${type} ${qname}.`, { name: qname, type });
  }

  /** One attempt, run when the limiter gives it a slot. */
  private attempt(qname: string, type: RecordType, ns: Nameserver): Promise<Reply | SipLocateError> {
    return this.config.limiter.run(async () => {
      if (this.config.closed.aborted) return new SipLocateError('ECLOSED', `The DNS client was closed before asking ${ns.label} for ${type} ${qname}.`, { name: qname, type });
      return this.attemptNow(qname, type, ns);
    });
  }

  /** One attempt at one nameserver: UDP, then TCP on TC or a wrong ID; EDNS and 0x20 fallbacks. */
  private async attemptNow(qname: string, type: RecordType, ns: Nameserver): Promise<Reply | SipLocateError> {
    const counters = this.config.counters;
    let with0x20 = this.config.use0x20 && this.caseAllowed(ns.label);
    let edns = true;
    let outcome: ExchangeOutcome;
    for (let pass = 0; ; pass++) {
      counters.udpAttempts++;
      outcome = await udpExchange(this.request(ns, with0x20 ? randomiseCase(qname) : qname, type, edns), counters);
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
      outcome = await tcpExchange(this.request(ns, qname, type, edns), counters);
    }
    return this.interpret(outcome, qname, type, ns);
  }

  /** Whether 0x20 may be used with a server: never turned off, or its re-probe time has come. */
  private caseAllowed(label: string): boolean {
    const until = this.caseBroken.get(label);
    if (until === undefined) return true;
    if (until > this.config.now()) return false;
    this.caseBroken.delete(label);
    return true;
  }

  private request(ns: Nameserver, wireName: string, type: RecordType, edns: boolean): ExchangeRequest {
    return { ns, id: randomInt(65536), wireName, type, edns, timeoutMs: this.config.timeoutMs, signal: this.config.closed };
  }

  private interpret(outcome: ExchangeOutcome, qname: string, type: RecordType, ns: Nameserver): Reply | SipLocateError {
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
        return new SipLocateError('ETIMEOUT', `No answer from ${ns.label} for ${q} within ${this.config.timeoutMs} ms.`, details);
      case 'refused':
        return new SipLocateError('ECONNREFUSED', `The nameserver ${ns.label} refused the connection for ${q}.`, details);
      case 'malformed':
        return new SipLocateError('EBADRESP', `The nameserver ${ns.label} sent a malformed reply for ${q} (${outcome.reason}).`, details);
      case 'neterror':
        return new SipLocateError('EBADRESP', `No usable reply from ${ns.label} for ${q}: ${outcome.message}.`, details);
      case 'aborted':
        return new SipLocateError('ECLOSED', `The DNS client was closed while asking ${ns.label} for ${q}.`, details);
      default:
        return new SipLocateError('EBADRESP', `No usable reply from ${ns.label} for ${q}.`, details);
    }
  }
}
