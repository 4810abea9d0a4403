/** One SIP OPTIONS over a WebSocket (RFC 7118): subprotocol "sip", one SIP message per WebSocket message. */
import { addressPort } from '../core/target';
import WebSocket from 'ws';
import type { SipLocateError } from '../core/errors';
import type { Target } from '../core/types';
import { toSipLocateError } from '../core/errors';
import { buildOptions, parseResponse, token, type OptionsRequest, type SipResponse } from './message';
import type { ProbeResult, ProbeStats } from './exchange';
import type { tlsConnectOptions } from './tls-identity';

/** What a WebSocket probe needs from sendOptions: the checked target, the request fields and the result makers. */
export interface WsProbeRun {
  /** Checked by probeTarget: transport ws or wss, an IP address, a host name or IP as host. */
  target: Target;
  /** Request fields apart from the transport-specific ones; all checked. */
  fields: Omit<OptionsRequest, 'viaTransport' | 'localAddress' | 'localPort'>;
  timeoutMs: number;
  stats: ProbeStats;
  signal?: AbortSignal;
  /** SNI, CAs and the RFC 5922 identity check, used for wss. */
  tls: ReturnType<typeof tlsConnectOptions>;
  matches(r: SipResponse): boolean;
  final(r: SipResponse): ProbeResult;
  timeout(): ProbeResult;
  transportError(err: Error & { code?: string }): ProbeResult;
  cancelled(): SipLocateError;
}

/** Longest WebSocket message accepted (a SIP response head and body). */
const MAX_MESSAGE = 96 * 1024;
/** How long the closing handshake may take after the final response before the socket is dropped. */
const CLOSE_GRACE_MS = 1000;

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The bytes of a received WebSocket message (ws 8 hands over a Buffer, or Buffer[] / ArrayBuffer with another binaryType; a string is accepted too). */
function bytesOf(data: unknown): Buffer | undefined {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data) && data.every((d) => Buffer.isBuffer(d))) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return undefined;
}

/** Sends OPTIONS over ws or wss and settles with the final response or the failure; ECANCELLED when aborted. */
export function probeOverWebSocket(run: WsProbeRun): Promise<ProbeResult> {
  const { target, signal } = run;
  const secure = target.transport === 'wss';
  return new Promise((resolve, reject) => {
    let done = false;
    // The URL holds the checked address only; the Host header the checked host name.
    const ws = new WebSocket(`${secure ? 'wss' : 'ws'}://${bracketed(target.address)}:${target.port}/`, 'sip', {
      headers: { Host: `${bracketed(target.host)}:${target.port}` },
      perMessageDeflate: false,
      followRedirects: false,
      maxPayload: MAX_MESSAGE,
      ...(secure ? run.tls : {}),
    });
    const finish = (r: ProbeResult | SipLocateError): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      const settle = (): void => (r instanceof Error ? reject(r) : resolve(r));
      if (
        ws.readyState === WebSocket.OPEN &&
        !(r instanceof Error) &&
        (r.kind === 'response' || r.status !== undefined)
      ) {
        // Closed after the final response; a peer that does not answer the close frame is dropped soon after.
        const grace = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
        ws.once('close', () => clearTimeout(grace));
        ws.close(1000);
        settle();
      } else if (ws.readyState === WebSocket.CLOSED) {
        settle();
      } else {
        // Timeout, abort or error: the probe settles once its socket is gone.
        ws.once('close', settle);
        ws.terminate();
      }
    };
    const onAbort = (): void => {
      if (done) ws.terminate();
      else finish(run.cancelled());
    };
    const deadline = setTimeout(() => finish(run.timeout()), run.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('open', () => {
      if (done) return;
      try {
        // RFC 7118 5: a WebSocket client has no reachable address, so Via and Contact carry a random .invalid name.
        const wire = buildOptions({
          ...run.fields,
          viaTransport: secure ? 'WSS' : 'WS',
          localAddress: `${token(6)}.invalid`,
          localPort: undefined,
        });
        ws.send(wire, (err) => {
          if (err) finish(run.transportError(err));
        });
      } catch (err) {
        finish(toSipLocateError(err, 'EINVALIDMSG', 'The OPTIONS request could not be built.'));
      }
    });
    ws.on('message', (data: unknown) => {
      const buf = bytesOf(data);
      const r = buf ? parseResponse(buf, false) : 'malformed';
      if (r === 'malformed' || r === undefined) {
        run.stats.malformed++;
        return;
      }
      if (!run.matches(r)) {
        run.stats.stray++;
        return;
      }
      if (r.status >= 200) finish(run.final(r));
    });
    ws.on('error', (err: Error & { code?: string }) => finish(run.transportError(err)));
    ws.on('close', () => {
      signal?.removeEventListener('abort', onAbort);
      finish({
        kind: 'failure',
        failure: 'transport',
        code: 'ECONNRESET',
        message: `The ${target.transport} connection to ${addressPort(target)} closed before a final response.`,
      });
    });
  });
}
