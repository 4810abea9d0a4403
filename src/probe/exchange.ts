/** What every OPTIONS exchange shares, whatever carries it: checked options, fresh IDs, response matching and the result sentences. */
import { targetLabel } from '../core/target';
import { setMaxListeners } from 'node:events';
import { SipLocateError, type ErrorCode } from '../core/errors';
import type { Target } from '../core/types';
import { checkProbeOptions, probeTarget } from './check';
import { newBranch, retryAfterOf, token, type SipResponse } from './message';
import type { TlsIdentity } from './tls-identity';

/** Options of sendOptions(). */
export interface ProbeOptions {
  /** Request-URI (default sip:<host>:<port>;transport=<transport>). */
  requestUri?: string;
  /** Give up after this many ms (default 32000 = timer F with T1 500 ms). */
  timeoutMs?: number;
  /** RFC 3261 T1 in ms (default 500); UDP retransmits at T1, 2T1, ... up to T2 = 4 s. */
  t1Ms?: number;
  /** Verify the TLS certificate (tls, wss): trusted chain and the name tlsIdentity asks for (default true). */
  verifyTls?: boolean;
  /** Whose name the certificate must hold (RFC 5922): the SIP domain, the target's host name, or either (default 'domain'). */
  tlsIdentity?: TlsIdentity;
  /** The SIP domain: the host of the URI located (default: the target's host name). Also the SNI name for 'domain' and 'either'. */
  domain?: string;
  /** CA certificates (PEM) to trust instead of the system's. */
  ca?: string | Buffer | Array<string | Buffer>;
  fromUser?: string;
  /** Counts stray and malformed packets. */
  stats?: ProbeStats;
  /** Aborting closes the socket, clears the timers and rejects with ECANCELLED. */
  signal?: AbortSignal;
}

/** Counters of packets that did not answer the request. */
export interface ProbeStats {
  stray: number;
  malformed: number;
}

/** A final response, or why none came. */
export type ProbeResult =
  | { kind: 'response'; status: number; reason: string; headers: Record<string, string> }
  | {
      kind: 'failure';
      failure: 'transport' | 'timeout' | '503';
      retryAfter?: number;
      code: ErrorCode;
      message: string;
      status?: number;
    };

/** The declared code for a socket error: refused and reset keep their names, anything else is ETRANSPORT. */
export function socketCode(err: Error & { code?: string }): ErrorCode {
  if (err.code === 'ECONNREFUSED') return 'ECONNREFUSED';
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return 'ECONNRESET';
  return 'ETRANSPORT';
}

const T2_MS = 4000;

/** RFC 3261 17.1.2.2: the delay before each UDP retransmission, T1 doubling up to T2, within the timeout. */
export function retransmitDelays(t1Ms: number, timeoutMs: number): number[] {
  const out: number[] = [];
  let elapsed = 0;
  for (
    let interval = t1Ms;
    elapsed + interval < timeoutMs && out.length < 64;
    interval = Math.min(interval * 2, T2_MS)
  ) {
    out.push(interval);
    elapsed += interval;
  }
  return out;
}

/** The default Request-URI for a target: sip:<host>:<port>;transport=<transport> (sips: for TLS). */
export function requestUriOf(target: Target): string {
  // Only an IPv6 address holds a colon (a checked host name cannot): it goes in brackets.
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  if (target.transport === 'tls') return `sips:${host}:${target.port}`;
  // RFC 7118 7: ";transport=ws" names WebSocket for ws and wss alike.
  const transport = target.transport === 'wss' ? 'ws' : target.transport;
  return `sip:${host}:${target.port};transport=${transport}`;
}

/** The result for a final response: a 503 is a failure (with its Retry-After), anything else a response. */
export function finalResult(r: SipResponse): ProbeResult {
  if (r.status === 503) {
    const retryAfter = retryAfterOf(r.headers);
    return {
      kind: 'failure',
      failure: '503',
      retryAfter,
      code: 'E503',
      status: 503,
      message: `The server answered 503 ${r.reason}${retryAfter ? ` (Retry-After ${retryAfter} s)` : ''}.`,
    };
  }
  return { kind: 'response', status: r.status, reason: r.reason, headers: r.headers };
}

/** One prepared exchange: the checked target, the request fields with fresh IDs, and the results it can end with. */
export class Exchange {
  constructor(
    readonly target: Target,
    readonly timeoutMs: number,
    readonly stats: ProbeStats,
    /** The request fields but the Via transport, local address and To URI. */
    readonly common: { requestUri: string; branch: string; callId: string; fromTag: string; fromUser: string; cseq: 1 },
  ) {}

  /** True for a response to this request (same branch, Call-ID and CSeq method). */
  matches(r: SipResponse): boolean {
    return r.branch === this.common.branch && r.callId === this.common.callId && r.cseqMethod === 'OPTIONS';
  }

  timeout(): ProbeResult {
    return {
      kind: 'failure',
      failure: 'timeout',
      code: 'ETIMEOUT',
      message: `No final response from ${this.where()} within ${this.timeoutMs} ms.`,
    };
  }

  transportError(err: Error & { code?: string }): ProbeResult {
    const detail = `${err.message.replace(/\.$/, '')}${err.code && !err.message.includes(err.code) ? ` (${err.code})` : ''}`;
    return {
      kind: 'failure',
      failure: 'transport',
      code: socketCode(err),
      message: `Sending to ${this.where()} failed: ${detail}.`,
    };
  }

  cancelled(): SipLocateError {
    return new SipLocateError('ECANCELLED', `The OPTIONS probe to ${this.where()} was cancelled.`);
  }

  private where(): string {
    return targetLabel(this.target);
  }
}

/** A target and probe options checked once: what stays the same from one probe of the target to the next. */
export class CheckedProbe {
  constructor(
    readonly target: Target,
    readonly requestUri: string,
    readonly fromUser: string,
    readonly timeoutMs: number,
    readonly t1Ms: number,
    readonly stats: ProbeStats | undefined,
  ) {}

  /** A new exchange with fresh IDs (hex tokens, safe in any header). */
  exchange(): Exchange {
    const common = {
      requestUri: this.requestUri,
      branch: newBranch(),
      callId: `${token(12)}@node-red`,
      fromTag: token(6),
      fromUser: this.fromUser,
      cseq: 1 as const,
    };
    return new Exchange(this.target, this.timeoutMs, this.stats ?? { stray: 0, malformed: 0 }, common);
  }
}

/** Checks the target and the options that go into requests; an EINVALIDMSG or EINVALIDOPTION error when either cannot. */
export function checkProbe(unchecked: Target, options: ProbeOptions): CheckedProbe | SipLocateError {
  const target = probeTarget(unchecked);
  if (target instanceof SipLocateError) return target;
  const invalid = checkProbeOptions(options);
  if (invalid) return invalid;
  return new CheckedProbe(
    target,
    options.requestUri ?? requestUriOf(target),
    options.fromUser ?? 'probe',
    options.timeoutMs ?? 32_000,
    options.t1Ms ?? 500,
    options.stats,
  );
}

/**
 * Checks the target and options and prepares one exchange; an EINVALIDMSG or EINVALIDOPTION error when either cannot
 * go into a request, ECANCELLED when the signal has fired already.
 */
export function prepareExchange(unchecked: Target, options: ProbeOptions): Exchange | SipLocateError {
  const checked = checkProbe(unchecked, options);
  if (checked instanceof SipLocateError) return checked;
  const ex = checked.exchange();
  if (options.signal?.aborted) return ex.cancelled();
  if (options.signal) setMaxListeners(0, options.signal); // one listener per probe in flight, each removed when its probe ends
  return ex;
}
