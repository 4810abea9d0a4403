/** Sends one SIP OPTIONS to a target over UDP, TCP, TLS, WS or WSS and reports the final response or the failure. */
import { addressPort } from '../core/target';
import { createSocket } from 'node:dgram';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { SipLocateError, toSipLocateError } from '../core/errors';
import type { Target } from '../core/types';
import { buildOptions, parseResponse, type SipResponse } from './message';
import { tlsConnectOptions } from './tls-identity';
import { probeOverWebSocket } from './ws-probe';
import { finalResult, prepareExchange, retransmitDelays, type ProbeOptions, type ProbeResult } from './exchange';

export { retransmitDelays, type ProbeOptions, type ProbeResult, type ProbeStats } from './exchange';

/**
 * Sends OPTIONS to the target and resolves with the final response or the failure. Rejects only with EINVALIDMSG or
 * EINVALIDOPTION for a target or option that cannot go into a request, and with ECANCELLED when aborted.
 */
export function sendOptions(unchecked: Target, options: ProbeOptions = {}): Promise<ProbeResult> {
  const ex = prepareExchange(unchecked, options);
  if (ex instanceof SipLocateError) return Promise.reject(ex);
  const { target, timeoutMs, stats, common } = ex;
  const matches = (r: SipResponse): boolean => ex.matches(r);
  const timeout = (): ProbeResult => ex.timeout();
  const transportError = (err: Error & { code?: string }): ProbeResult => ex.transportError(err);
  const cancelled = (): SipLocateError => ex.cancelled();
  const signal = options.signal;

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
          wire = Buffer.from(
            buildOptions({
              ...common,
              viaTransport: 'UDP',
              localAddress: local.address,
              localPort: local.port,
              toUri: common.requestUri,
            }),
          );
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
    domain: options.domain ?? target.host,
    targetHost: target.host,
    identity: options.tlsIdentity ?? 'domain',
    verify: options.verifyTls !== false,
    ca: options.ca,
  });
  if (target.transport === 'ws' || target.transport === 'wss') {
    return probeOverWebSocket({
      target,
      fields: { ...common, toUri: common.requestUri },
      timeoutMs,
      stats,
      signal,
      tls,
      matches,
      final: finalResult,
      timeout,
      transportError,
      cancelled,
    });
  }
  if (target.transport !== 'tcp' && target.transport !== 'tls') {
    return Promise.resolve({
      kind: 'failure',
      failure: 'transport',
      code: 'ENOTRANSPORT',
      message: `sip-options cannot send over ${target.transport}; it supports udp, tcp, tls, ws and wss.`,
    });
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
        socket.write(
          buildOptions({
            ...common,
            viaTransport: target.transport === 'tls' ? 'TLS' : 'TCP',
            localAddress: socket.localAddress ?? '0.0.0.0',
            localPort: socket.localPort ?? 0,
            toUri: common.requestUri,
          }),
        );
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
    socket.on('close', () =>
      finish({
        kind: 'failure',
        failure: 'transport',
        code: 'ECONNRESET',
        message: `The ${target.transport} connection to ${addressPort(target)} closed before a final response.`,
      }),
    );
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        while (buffered.length >= 2 && buffered[0] === 0x0d && buffered[1] === 0x0a) buffered = buffered.subarray(2);
        const r = parseResponse(buffered, true);
        if (r === undefined) return;
        if (r === 'malformed') {
          stats.malformed++;
          return finish({
            kind: 'failure',
            failure: 'transport',
            code: 'EBADMSG',
            message: `The server at ${addressPort(target)} sent something that is not a SIP response.`,
          });
        }
        buffered = buffered.subarray(r.length);
        if (!matches(r)) stats.stray++;
        else if (r.status >= 200) return finish(finalResult(r));
      }
    });
  });
}
