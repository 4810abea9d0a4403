/** SIP OPTIONS requests and the parsing of responses to them (RFC 3261 subset). */
import { randomBytes } from 'node:crypto';
import { SipLocateError } from '../core/errors';
import { isVisible } from './check';

/** What goes into one OPTIONS request. */
export interface OptionsRequest {
  requestUri: string;
  /** "UDP", "TCP", "TLS", "WS" or "WSS" as written in Via. */
  viaTransport: string;
  /** An IP address, or a host name such as RFC 7118's random ".invalid" one. */
  localAddress: string;
  /** Left out of Via, From and Contact when undefined (WebSocket clients have none to offer). */
  localPort: number | undefined;
  branch: string;
  callId: string;
  fromTag: string;
  fromUser: string;
  toUri: string;
  cseq: number;
}

/** A parsed SIP response. */
export interface SipResponse {
  status: number;
  reason: string;
  /** Header values by lower-case long name; repeated headers are joined with ", ". */
  headers: Record<string, string>;
  branch?: string;
  callId?: string;
  cseqMethod?: string;
  /** Bytes used from the input (head and body). */
  length: number;
}

const COMPACT: Record<string, string> = {
  v: 'via',
  f: 'from',
  t: 'to',
  i: 'call-id',
  l: 'content-length',
  m: 'contact',
  c: 'content-type',
  k: 'supported',
};

/** Random bytes drawn once and handed out in pieces: one call to the system's generator per 4 KiB of tokens. */
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolUsed = 0;

/** A random token for branches, tags and Call-IDs: `bytes` random bytes (at most 64) in hex. */
export function token(bytes = 8): string {
  const n = Math.min(64, Math.max(1, Math.trunc(bytes)));
  if (poolUsed + n > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolUsed = 0;
  }
  const out = pool.toString('hex', poolUsed, poolUsed + n);
  poolUsed += n;
  return out;
}

/** A new RFC 3261 branch (magic cookie z9hG4bK). */
export function newBranch(): string {
  return 'z9hG4bK' + token(10);
}

function hostText(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** Serialises an OPTIONS request; throws EINVALIDMSG when a field would break the request line or a header. */
export function buildOptions(r: OptionsRequest): string {
  for (const [name, value] of Object.entries(r)) {
    if (value === undefined && name === 'localPort') continue;
    if (typeof value === 'string' ? !isVisible(value) : !Number.isInteger(value)) {
      throw new SipLocateError(
        'EINVALIDMSG',
        `The OPTIONS field ${name} holds a space, a control character or something else that cannot go into a SIP request.`,
        { field: name },
      );
    }
  }
  return renderOptions(r);
}

/**
 * Serialises an OPTIONS request whose fields were checked already (by buildOptions, or once per target by the UDP
 * probe channel, whose IDs are hex and whose address and port come from the system).
 */
export function renderOptions(r: OptionsRequest): string {
  const local = `${hostText(r.localAddress)}${r.localPort === undefined ? '' : `:${r.localPort}`}`;
  // RFC 7118 7: the URI transport parameter is "ws" for WS and WSS alike.
  const uriTransport = r.viaTransport === 'WSS' ? 'ws' : r.viaTransport.toLowerCase();
  return [
    `OPTIONS ${r.requestUri} SIP/2.0`,
    `Via: SIP/2.0/${r.viaTransport} ${local};branch=${r.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${r.fromUser}@${local}>;tag=${r.fromTag}`,
    `To: <${r.toUri}>`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${r.cseq} OPTIONS`,
    `Contact: <sip:${r.fromUser}@${local};transport=${uriTransport}>`,
    'Accept: application/sdp',
    'User-Agent: node-red-contrib-sip-locate',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Largest response head accepted (a longer one is malformed). */
const MAX_HEAD = 16_384;

/**
 * Parses one response from the start of `buf`: undefined while incomplete, 'malformed' when it can never be a
 * SIP response. Over UDP a datagram is one message; over TCP Content-Length frames it.
 */
export function parseResponse(buf: Buffer, stream: boolean): SipResponse | 'malformed' | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return buf.length > MAX_HEAD || (!stream && buf.length > 0) ? 'malformed' : undefined;
  if (headEnd > MAX_HEAD) return 'malformed';
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^SIP\/2\.0 ([1-6]\d\d) ?(.*)$/.exec(lines[0] ?? '');
  if (!m) return 'malformed';
  const headers: Record<string, string> = {};
  let last = '';
  for (const line of lines.slice(1)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      headers[last] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return 'malformed';
    let name = line.slice(0, colon).trim().toLowerCase();
    name = COMPACT[name] ?? name;
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] !== undefined ? `${headers[name]}, ${value}` : value;
    last = name;
  }
  const lengthText = headers['content-length'];
  const bodyLength = lengthText === undefined ? 0 : Number(lengthText);
  if (!Number.isInteger(bodyLength) || bodyLength < 0 || bodyLength > 65_536) return 'malformed';
  const total = headEnd + 4 + bodyLength;
  if (stream && buf.length < total) return undefined;
  const via = (headers.via ?? '').split(',')[0] ?? '';
  const branch = /;\s*branch=([^;\s,]+)/i.exec(via)?.[1];
  const cseq = /^\s*\d+\s+([A-Za-z]+)/.exec(headers.cseq ?? '');
  return {
    status: Number(m[1]),
    reason: m[2] ?? '',
    headers,
    branch,
    callId: headers['call-id'],
    cseqMethod: cseq?.[1]?.toUpperCase(),
    length: stream ? total : buf.length,
  };
}

/** Seconds from a Retry-After header ("120", "120 (maintenance)", "120;duration=3600"), or undefined. */
export function retryAfterOf(headers: Record<string, string>): number | undefined {
  const m = /^\s*(\d{1,10})/.exec(headers['retry-after'] ?? '');
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n : undefined;
}
