/** Sends one SIP OPTIONS to a target over UDP, TCP, TLS, WS or WSS and reports the final response or the failure. */
import { createSocket } from 'node:dgram';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { setMaxListeners } from 'node:events';
import { SipLocateError, toSipLocateError, type ErrorCode } from '../core/errors';
import type { Target } from '../core/types';
import { checkProbeOptions, probeTarget } from './check';
import { buildOptions, newBranch, parseResponse, retryAfterOf, token, type SipResponse } from './message';
import { tlsConnectOptions, type TlsIdentity } from './tls-identity';
import { probeOverWebSocket } from './ws-probe';

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
  | { kind: 'failure'; failure: 'transport' | 'timeout' | '503'; retryAfter?: number; code: ErrorCode; message: string; status?: number };

/** The declared code for a socket error: refused and reset keep their names, anything else is ETRANSPORT. */
function socketCode(err: Error & { code?: string }): ErrorCode {
  if (err.code === 'ECONNREFUSED') return 'ECONNREFUSED';
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return 'ECONNRESET';
  return 'ETRANSPORT';
}

const T2_MS = 4000;

/** RFC 3261 17.1.2.2: the delay before each UDP retransmission, T1 doubling up to T2, within the timeout. */
export function retransmitDelays(t1Ms: number, timeoutMs: number): number[] {
  const out: number[] = [];
  let elapsed = 0;
  for (let interval = t1Ms; elapsed + interval < timeoutMs && out.length < 64; interval = Math.min(interval * 2, T2_MS)) {
    out.push(interval);
    elapsed += interval;
  }
  return out;
}

function requestUriOf(target: Target): string {
  const host = isIP(target.host) === 6 || (isIP(target.host) === 0 && target.host.includes(':')) ? `[${target.host}]` : target.host;
  if (target.transport === 'tls') return `sips:${host}:${target.port}`;
  // RFC 7118 7: ";transport=ws" names WebSocket for ws and wss alike.
  const transport = target.transport === 'wss' ? 'ws' : target.transport;
  return `sip:${host}:${target.port};transport=${transport}`;
}

function finalResult(r: SipResponse): ProbeResult {
  if (r.status === 503) {
    const retryAfter = retryAfterOf(r.headers);
    return { kind: 'failure', failure: '503', retryAfter, code: 'E503', status: 503, message: `The server answered 503 ${r.reason}${retryAfter ? ` (Retry-After ${retryAfter} s)` : ''}.` };
  }
  return { kind: 'response', status: r.status, reason: r.reason, headers: r.headers };
}

/**
 * Sends OPTIONS to the target and resolves with the final response or the failure. Rejects only with EINVALIDMSG or
 * EINVALIDOPTION for a target or option that cannot go into a request, and with ECANCELLED when aborted.
 */
export function sendOptions(unchecked: Target, options: ProbeOptions = {}): Promise<ProbeResult> {
  const target = probeTarget(unchecked);
  if (target instanceof SipLocateError) return Promise.reject(target);
  const invalid = checkProbeOptions(options);
  if (invalid) return Promise.reject(invalid);
  const signal = options.signal;
  const cancelled = (): SipLocateError => new SipLocateError('ECANCELLED', `The OPTIONS probe to ${target.transport} ${target.address}:${target.port} was cancelled.`);
  if (signal?.aborted) return Promise.reject(cancelled());
  if (signal) setMaxListeners(0, signal); // one listener per probe in flight, each removed when its probe ends
  const timeoutMs = options.timeoutMs ?? 32_000;
  const stats = options.stats ?? { stray: 0, malformed: 0 };
  const ids = { branch: newBranch(), callId: `${token(12)}@node-red`, fromTag: token(6) };
  const common = {
    requestUri: options.requestUri ?? requestUriOf(target),
    branch: ids.branch, callId: ids.callId, fromTag: ids.fromTag, fromUser: options.fromUser ?? 'probe', cseq: 1,
  };
  const matches = (r: SipResponse): boolean => r.branch === ids.branch && r.callId === ids.callId && r.cseqMethod === 'OPTIONS';
  const timeout = (): ProbeResult => ({ kind: 'failure', failure: 'timeout', code: 'ETIMEOUT', message: `No final response from ${target.transport} ${target.address}:${target.port} within ${timeoutMs} ms.` });
  const transportError = (err: Error & { code?: string }): ProbeResult => ({ kind: 'failure', failure: 'transport', code: socketCode(err), message: `Sending to ${target.transport} ${target.address}:${target.port} failed: ${err.message.replace(/\.$/, '')}${err.code && !err.message.includes(err.code) ? ` (${err.code})` : ''}.` });

  if (target.transport === 'udp') {
    return new Promise((resolve, reject) => {
      const socket = createSocket(isIP(target.address) === 6 ? 'udp6' : 'udp4');
      let done = false;
      let retransmit: NodeJS.Timeout | undefined;
      const finish = (r: ProbeResult | SipLocateError): void => {
        if (done) return;
        done = true;
        clearTimeout(retransmit);
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        try {
          socket.close();
        } catch {
          // closed already
        }
        if (r instanceof SipLocateError) reject(r);
        else resolve(r);
      };
      const onAbort = (): void => finish(cancelled());
      signal?.addEventListener('abort', onAbort, { once: true });
      const deadline = setTimeout(() => finish(timeout()), timeoutMs);
      socket.on('error', (err) => finish(transportError(err)));
      socket.on('message', (buf) => {
        const r = parseResponse(buf, false);
        if (r === 'malformed' || r === undefined) {
          stats.malformed++;
          return;
        }
        if (!matches(r)) {
          stats.stray++;
          return;
        }
        if (r.status >= 200) finish(finalResult(r));
      });
      socket.connect(target.port, target.address, () => {
        if (done) return;
        const local = socket.address();
        let wire: Buffer;
        try {
          wire = Buffer.from(buildOptions({ ...common, viaTransport: 'UDP', localAddress: local.address, localPort: local.port, toUri: common.requestUri }));
        } catch (err) {
          return finish(toSipLocateError(err, 'EINVALIDMSG', 'The OPTIONS request could not be built.'));
        }
        const delays = retransmitDelays(options.t1Ms ?? 500, timeoutMs);
        const send = (n: number): void => {
          if (done) return;
          socket.send(wire, (err) => {
            if (err) finish(transportError(err));
          });
          if (n < delays.length) retransmit = setTimeout(() => send(n + 1), delays[n]);
        };
        send(0);
      });
    });
  }

  const tls = tlsConnectOptions({
    domain: options.domain ?? target.host, targetHost: target.host, identity: options.tlsIdentity ?? 'domain',
    verify: options.verifyTls !== false, ca: options.ca,
  });
  if (target.transport === 'ws' || target.transport === 'wss') {
    return probeOverWebSocket({
      target, fields: { ...common, toUri: common.requestUri }, timeoutMs, stats, signal, tls,
      matches, final: finalResult, timeout, transportError, cancelled,
    });
  }
  if (target.transport !== 'tcp' && target.transport !== 'tls') {
    return Promise.resolve({ kind: 'failure', failure: 'transport', code: 'ENOTRANSPORT', message: `sip-options cannot send over ${target.transport}; it supports udp, tcp, tls, ws and wss.` });
  }
  return new Promise((resolve, reject) => {
    let socket: Socket;
    let done = false;
    let buffered = Buffer.alloc(0);
    const finish = (r: ProbeResult | SipLocateError): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (r instanceof SipLocateError) reject(r);
      else resolve(r);
    };
    const onAbort = (): void => finish(cancelled());
    const deadline = setTimeout(() => finish(timeout()), timeoutMs);
    const onReady = (): void => {
      if (done) return;
      try {
        socket.write(buildOptions({ ...common, viaTransport: target.transport === 'tls' ? 'TLS' : 'TCP', localAddress: socket.localAddress ?? '0.0.0.0', localPort: socket.localPort ?? 0, toUri: common.requestUri }));
      } catch (err) {
        finish(toSipLocateError(err, 'EINVALIDMSG', 'The OPTIONS request could not be built.'));
      }
    };
    if (target.transport === 'tls') {
      socket = tlsConnect({ host: target.address, port: target.port, ...tls }, onReady);
    } else {
      socket = tcpConnect({ host: target.address, port: target.port }, onReady);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (err) => finish(transportError(err)));
    socket.on('close', () => finish({ kind: 'failure', failure: 'transport', code: 'ECONNRESET', message: `The ${target.transport} connection to ${target.address}:${target.port} closed before a final response.` }));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        while (buffered.length >= 2 && buffered[0] === 0x0d && buffered[1] === 0x0a) buffered = buffered.subarray(2);
        const r = parseResponse(buffered, true);
        if (r === undefined) return;
        if (r === 'malformed') {
          stats.malformed++;
          return finish({ kind: 'failure', failure: 'transport', code: 'EBADMSG', message: `The server at ${target.address}:${target.port} sent something that is not a SIP response.` });
        }
        buffered = buffered.subarray(r.length);
        if (!matches(r)) stats.stray++;
        else if (r.status >= 200) return finish(finalResult(r));
      }
    });
  });
}
