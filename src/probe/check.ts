/** Checks every value a probe would write into a SIP request, so nothing unchecked reaches the wire. */
import { isIP } from 'node:net';
import { SipLocateError } from '../core/errors';
import type { Target } from '../core/types';
import { isStrictSipUser, parseSipUri } from '../core/uri';
import { readTargetKey, withAddressing } from '../core/target';
import { TLS_IDENTITIES } from './tls-identity';

/** A host name (RFC 1123 labels; "_" allowed as SRV targets use it) of at most 253 characters, optionally with a final dot. */
const HOST_NAME =
  /^(?=.{1,254}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
/** Longest From user a probe sends (a label, not an account: short keeps the request small). */
const MAX_FROM_USER = 64;
/** Visible ASCII only: no space, CR, LF or other control byte. */
const VISIBLE = /^[\x21-\x7e]+$/;

/** True when `host` is an IP address or a host name. */
export function isHost(host: string): boolean {
  // Names and IPv4 addresses match the name pattern; only what does not (IPv6) is given to the address parser.
  return HOST_NAME.test(host) || isIP(host) !== 0;
}

/** True when `v` is visible ASCII only (no space, CR, LF or other control byte): safe as one field of a request. */
export function isVisible(v: string): boolean {
  return VISIBLE.test(v);
}

/** The target of msg.sip checked for the wire (a missing host is the address); an EINVALIDMSG error when it cannot be used. */
export function probeTarget(v: unknown): Target | SipLocateError {
  const key = readTargetKey(v);
  if (!key || typeof v !== 'object' || v === null)
    return new SipLocateError(
      'EINVALIDMSG',
      'msg.sip.target needs a transport, an IP address and a port (connect this node after sip-locate).',
    );
  const host: unknown = (v as { host?: unknown }).host ?? key.address;
  if (typeof host !== 'string' || !isHost(host)) {
    return new SipLocateError(
      'EINVALIDMSG',
      'msg.sip.target.host must be a host name or an IP address (letters, digits, "-", "." only), so it can go into the request.',
    );
  }
  return withAddressing({
    ...key,
    family: key.address.includes(':') ? 6 : 4,
    host,
    source: 'address',
    ttl: 0,
    ...pick(v),
  });
}

/** The descriptive fields of a target that are safe to keep as they are. */
function pick(v: object): Partial<Pick<Target, 'source' | 'ttl'>> {
  const t = v as Partial<Record<keyof Target, unknown>>;
  const out: Partial<Pick<Target, 'source' | 'ttl'>> = {};
  if (
    t.source === 'numeric' ||
    t.source === 'naptr' ||
    t.source === 'srv' ||
    t.source === 'address' ||
    t.source === 'system'
  )
    out.source = t.source;
  if (typeof t.ttl === 'number' && Number.isFinite(t.ttl) && t.ttl >= 0) out.ttl = t.ttl;
  return out;
}

/** Checks the configured Request-URI, From user, SIP domain and TLS identity; an EINVALIDOPTION error saying what to fix, or undefined. */
export function checkProbeOptions(o: {
  requestUri?: string;
  fromUser?: string;
  domain?: unknown;
  tlsIdentity?: unknown;
}): SipLocateError | undefined {
  if (o.domain !== undefined && (typeof o.domain !== 'string' || !isHost(o.domain))) {
    return new SipLocateError(
      'EINVALIDOPTION',
      'The SIP domain for the TLS identity must be a host name or an IP address.',
      { option: 'domain' },
    );
  }
  if (o.tlsIdentity !== undefined && !(TLS_IDENTITIES as readonly unknown[]).includes(o.tlsIdentity)) {
    return new SipLocateError('EINVALIDOPTION', 'tlsIdentity must be domain, target or either.', {
      option: 'tlsIdentity',
    });
  }
  if (o.requestUri !== undefined) {
    let ok = isVisible(o.requestUri) && o.requestUri.length <= 2048;
    try {
      parseSipUri(o.requestUri);
    } catch {
      ok = false;
    }
    if (!ok || !/^sips?:/i.test(o.requestUri))
      return new SipLocateError(
        'EINVALIDOPTION',
        'The Request-URI must be a plain sip: or sips: URI without spaces or control characters.',
        { option: 'requestUri' },
      );
  }
  if (o.fromUser !== undefined && (o.fromUser.length > MAX_FROM_USER || !isStrictSipUser(o.fromUser))) {
    return new SipLocateError(
      'EINVALIDOPTION',
      `The From user may hold letters, digits, - _ . ! ~ * ' ( ) & = + $ , ; / and %-escapes (1 to ${MAX_FROM_USER} characters).`,
      { option: 'fromUser' },
    );
  }
  return undefined;
}

/** The SIP domain of msg.sip.uri (its host, RFC 5922) for the TLS identity; an EINVALIDMSG error when there is none. */
export function sipDomainOf(uri: unknown): string | SipLocateError {
  const bad = new SipLocateError(
    'EINVALIDMSG',
    'msg.sip.uri must be the SIP URI that was located, so the TLS certificate can be checked against its domain (or set tlsIdentity to target).',
  );
  if (typeof uri !== 'string' || uri.length > 2048) return bad;
  try {
    const { host } = parseSipUri(uri);
    return isHost(host) ? host : bad;
  } catch {
    return bad;
  }
}
