import { isIP } from 'node:net';
import { SipLocateError } from './errors';
import type { SipUri } from './types';

/** Longest URI accepted (a Request-URI longer than this is certainly not a server address). */
const MAX_URI_LENGTH = 2048;
const HOSTNAME_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function invalid(uri: string, why: string): SipLocateError {
  const shown = uri.length > 80 ? uri.slice(0, 77) + '...' : uri;
  return new SipLocateError('EINVALIDURI', `"${shown}" is not a usable SIP URI: ${why}.`, { uri: shown });
}

/** Parses a host (name, IPv4 or [IPv6]) into normalised form; throws EINVALIDURI with `uri` in the message. */
export function parseHost(text: string, uri: string): { host: string; hostKind: 0 | 4 | 6 } {
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) throw invalid(uri, 'the IPv6 reference has no closing "]"');
    const v6 = text.slice(1, -1);
    if (isIP(v6) !== 6) throw invalid(uri, `"${text}" is not an IPv6 address`);
    return { host: v6.toLowerCase(), hostKind: 6 };
  }
  if (isIP(text) === 4) return { host: text, hostKind: 4 };
  if (isIP(text) === 6) return { host: text.toLowerCase(), hostKind: 6 };
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name.length === 0) throw invalid(uri, 'the host is empty');
  if (!HOSTNAME_RE.test(name)) throw invalid(uri, `"${text.slice(0, 60)}" is not a valid host name`);
  if (/^[0-9.]+$/.test(name)) throw invalid(uri, `"${text}" is not a valid IPv4 address`);
  return { host: name.toLowerCase(), hostKind: 0 };
}

/** Splits "host[:port]" where host may be an [IPv6] reference. */
function splitHostPort(hostport: string, uri: string): { hostText: string; port?: number } {
  let hostText = hostport;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) throw invalid(uri, 'the IPv6 reference has no closing "]"');
    hostText = hostport.slice(0, close + 1);
    const rest = hostport.slice(close + 1);
    if (rest.length > 0) {
      if (!rest.startsWith(':')) throw invalid(uri, 'unexpected text after the IPv6 reference');
      portText = rest.slice(1);
    }
  } else {
    const colon = hostport.indexOf(':');
    if (colon >= 0) {
      if (hostport.indexOf(':', colon + 1) >= 0)
        throw invalid(uri, 'an IPv6 address must be written in brackets, like [2001:db8::1]');
      hostText = hostport.slice(0, colon);
      portText = hostport.slice(colon + 1);
    }
  }
  if (portText === undefined) return { hostText };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw invalid(uri, `the port "${portText.slice(0, 10)}" is not a number from 1 to 65535`);
  }
  return { hostText, port: Number(portText) };
}

/** Parses a sip: or sips: URI (bare, in angle brackets, or a name-addr with a display name); throws EINVALIDURI. */
export function parseSipUri(input: unknown): SipUri {
  if (typeof input !== 'string') {
    throw new SipLocateError(
      'EINVALIDURI',
      `Expected a SIP URI as text, got ${input === null ? 'null' : typeof input}.`,
      {},
    );
  }
  const original = input.trim();
  if (original.length === 0) throw invalid(original, 'it is empty');
  if (original.length > MAX_URI_LENGTH) throw invalid(original, `it is longer than ${MAX_URI_LENGTH} characters`);
  let text = original;
  const lt = text.indexOf('<');
  if (lt >= 0) {
    const gt = text.indexOf('>', lt);
    if (gt < 0) throw invalid(original, 'the "<" has no matching ">"');
    text = text.slice(lt + 1, gt).trim();
  }
  const m = /^(sips?):/i.exec(text);
  if (!m) throw invalid(original, 'it must start with sip: or sips:');
  const scheme = m[1]!.toLowerCase() as 'sip' | 'sips';
  let rest = text.slice(m[0].length);
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  const [hostport = '', ...params] = rest.split(';');
  if (hostport.length === 0) throw invalid(original, 'it has no host');
  if (/\s/.test(hostport)) throw invalid(original, 'the host contains white space');
  const { hostText, port } = splitHostPort(hostport, original);
  const { host, hostKind } = parseHost(hostText, original);
  const uri: SipUri = { scheme, host, hostKind };
  if (hostKind === 0 && hostText.endsWith('.')) uri.absolute = true;
  if (user !== undefined && user.length > 0) uri.user = user;
  if (port !== undefined) uri.port = port;
  for (const p of params) {
    const eq = p.indexOf('=');
    const key = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : p.slice(eq + 1).trim();
    if (key === 'transport') {
      if (!/^[a-z0-9-]+$/i.test(value)) throw invalid(original, 'the transport parameter is empty or malformed');
      uri.transport = value.toLowerCase();
    } else if (key === 'maddr') {
      uri.maddr = parseHost(value, original).host;
    }
  }
  return uri;
}

/** RFC 3261 user of a strict URI: unreserved and user-unreserved characters (no "?") and well-formed %-escapes. */
const STRICT_USER_RE = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;/]|%[0-9A-Fa-f]{2})+$/;
/** True when `user` is an RFC 3261 user part a strict URI may hold (no "?", %-escapes well formed): the one user rule. */
export function isStrictSipUser(user: string): boolean {
  return STRICT_USER_RE.test(user);
}
/** RFC 3261 token characters: the names and values of a strict URI's parameters. */
const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
/** Printable ASCII without space and without < > " (what a URI may hold at all). */
const URI_CHARS_RE = /^[\x21\x23-\x3b\x3d\x3f-\x7e]+$/;

/**
 * Why `text` is not a strict sip:/sips: URI (one that can go into a Request-URI or a dial string as it is), or
 * undefined when it is: printable ASCII without space or < > ", a user part of RFC 3261 user characters, a host
 * parseSipUri() accepts, parameters of token characters and no header part.
 */
export function strictSipUriProblem(text: string): string | undefined {
  if (text.length > MAX_URI_LENGTH) return `is longer than ${MAX_URI_LENGTH} characters`;
  if (!URI_CHARS_RE.test(text)) return 'holds white space, a control byte, a non-ASCII character or one of < > "';
  const m = /^sips?:/i.exec(text);
  if (!m) return 'is not a sip: or sips: URI';
  let rest = text.slice(m[0].length);
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (!isStrictSipUser(rest.slice(0, at)))
      return 'has a user part that is not RFC 3261 user characters (a password, "?" or a malformed %-escape)';
    rest = rest.slice(at + 1);
  }
  if (rest.includes('?')) return 'has a header part ("?...")';
  const [, ...params] = rest.split(';');
  for (const p of params) {
    const eq = p.indexOf('=');
    if (!TOKEN_RE.test(eq < 0 ? p : p.slice(0, eq)) || (eq >= 0 && !TOKEN_RE.test(p.slice(eq + 1))))
      return `has a parameter "${p.slice(0, 40)}" that is not token characters`;
  }
  try {
    parseSipUri(text);
    return undefined;
  } catch (err) {
    return `is not a usable SIP URI (${err instanceof Error ? err.message.slice(0, 120) : 'unparsable'})`;
  }
}

/** The TARGET of RFC 3263 section 4: maddr when present, otherwise the host. */
export function targetHost(uri: SipUri): { host: string; hostKind: 0 | 4 | 6 } {
  if (uri.maddr === undefined) return { host: uri.host, hostKind: uri.hostKind };
  const kind = isIP(uri.maddr);
  return { host: uri.maddr, hostKind: kind === 4 || kind === 6 ? kind : 0 };
}

/** The destination key of sticky pins: scheme, target host, port and transport parameter. */
export function destinationKey(uri: SipUri): string {
  const { host } = targetHost(uri);
  const dot = uri.absolute && uri.maddr === undefined ? '.' : '';
  return `${uri.scheme}:${host.includes(':') ? `[${host}]` : host}${dot}${uri.port ? `:${uri.port}` : ''}${uri.transport ? `;transport=${uri.transport}` : ''}`;
}

/** A parsed Via header value (the first via-parm). */
export interface ViaHeader {
  protocol: string;
  transport: string;
  host: string;
  hostKind: 0 | 4 | 6;
  port?: number;
  received?: string;
  /** rport value; true when the parameter is present without a value. */
  rport?: number | true;
  maddr?: string;
  ttl?: number;
}

/** Parses the first value of a Via header ("SIP/2.0/UDP host:port;params"); throws EINVALIDVIA. */
export function parseVia(input: unknown): ViaHeader {
  const bad = (why: string): SipLocateError =>
    new SipLocateError(
      'EINVALIDVIA',
      `${JSON.stringify(String(input).slice(0, 80))} is not a usable Via header: ${why}.`,
      {},
    );
  if (typeof input !== 'string' || input.length > MAX_URI_LENGTH) throw bad('expected text of at most 2048 characters');
  const first = input
    .replace(/^\s*(via|v)\s*:/i, '')
    .split(',')[0]!
    .trim();
  const m = /^([A-Za-z0-9.-]+)\s*\/\s*([0-9.]+)\s*\/\s*([A-Za-z0-9-]+)\s+([^;\s]+)\s*(.*)$/.exec(first);
  if (!m) throw bad('expected "SIP/2.0/<transport> <host>[:<port>]"');
  const { hostText, port } = (() => {
    try {
      return splitHostPort(m[4]!, first);
    } catch {
      throw bad('the sent-by host or port is malformed');
    }
  })();
  let parsedHost: { host: string; hostKind: 0 | 4 | 6 };
  try {
    parsedHost = parseHost(hostText, first);
  } catch {
    throw bad('the sent-by host is malformed');
  }
  const via: ViaHeader = { protocol: `${m[1]}/${m[2]}`, transport: m[3]!.toLowerCase(), ...parsedHost };
  if (port !== undefined) via.port = port;
  for (const p of m[5]!.split(';')) {
    const eq = p.indexOf('=');
    const key = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : p.slice(eq + 1).trim();
    if (key === 'received' && isIP(value.replace(/^\[|\]$/g, ''))) via.received = value.replace(/^\[|\]$/g, '');
    else if (key === 'rport')
      via.rport = /^\d{1,5}$/.test(value) && Number(value) > 0 && Number(value) < 65536 ? Number(value) : true;
    else if (key === 'maddr' && value.length > 0) {
      try {
        via.maddr = parseHost(value, first).host;
      } catch {
        throw bad('the maddr parameter is malformed');
      }
    } else if (key === 'ttl' && /^\d{1,3}$/.test(value)) via.ttl = Number(value);
  }
  return via;
}
