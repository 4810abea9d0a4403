/**
 * A target's identity and printable forms, in one place: its map key, "same target", its display form, its SIP URI,
 * and the reader that checks target data from outside (a store, a message, an HTTP body).
 * Addresses inside the locator are canonical (IPv6 lower case and compressed): DNS answers come that way and
 * readTargetKey() puts untrusted input that way, so targetId() can compare strings.
 */
import { isIP } from 'node:net';
import { isTransport } from './rfc3263/transports';
import type { Target, TargetKey, Transport } from './types';

/** Longest host name kept from untrusted target data. */
const MAX_HOST = 255;

/** The address in a canonical form (IPv6 lower case and compressed), so reports and DNS answers compare equal; undefined when not an IP. */
export function canonicalAddress(address: string): string | undefined {
  const kind = isIP(address);
  if (kind === 4) return address;
  if (kind !== 6) return undefined;
  try {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** The map and store key of a target: `udp|192.0.2.1|5060` (the format stored keys use; do not change). */
export function targetId(t: TargetKey): string {
  return `${t.transport}|${t.address}|${t.port}`;
}

/** The transport, address and port of a target, nothing more. */
export function targetKey(t: TargetKey): TargetKey {
  return { transport: t.transport, address: t.address, port: t.port };
}

/** True when two targets are the same transport, port and address (IPv6 compared in canonical form). */
export function sameTarget(a: TargetKey, b: TargetKey): boolean {
  if (a.transport !== b.transport || a.port !== b.port) return false;
  if (a.address === b.address) return true;
  return (
    a.address.includes(':') && b.address.includes(':') && canonicalAddress(a.address) === canonicalAddress(b.address)
  );
}

/** The address as it appears in a URI or key: IPv6 in brackets. */
function hostPart(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** URI scheme and transport parameter per transport; TLS is `sips:` over TCP (RFC 5630), secure WebSocket `sips:` over ws (RFC 7118). */
const URI_FORM: Readonly<Record<Transport, { scheme: 'sip' | 'sips'; param: string }>> = {
  udp: { scheme: 'sip', param: 'udp' },
  tcp: { scheme: 'sip', param: 'tcp' },
  tls: { scheme: 'sips', param: 'tcp' },
  sctp: { scheme: 'sip', param: 'sctp' },
  ws: { scheme: 'sip', param: 'ws' },
  wss: { scheme: 'sips', param: 'ws' },
};

/** The target as a SIP URI a proxy or dialler can send to: `sip:192.0.2.1:5060;transport=udp`, `sips:[2001:db8::1]:5061;transport=tcp`. */
export function targetUri(t: TargetKey): string {
  const form = URI_FORM[t.transport];
  return `${form.scheme}:${hostPart(t.address)}:${t.port};transport=${form.param}`;
}

/** The target's display form, as reports and messages name it: `udp:192.0.2.1:5060`, `tls:[2001:db8::1]:5061`. */
export function targetText(t: TargetKey): string {
  return `${t.transport}:${hostPart(t.address)}:${t.port}`;
}

/** The address and port as people read them: `192.0.2.1:5060`, `[2001:db8::1]:5060`. */
export function addressPort(t: Pick<TargetKey, 'address' | 'port'>): string {
  return `${hostPart(t.address)}:${t.port}`;
}

/** The target in status texts, logs and messages: `udp 192.0.2.1:5060`, `tls [2001:db8::1]:5061`. */
export function targetLabel(t: TargetKey): string {
  return `${t.transport} ${addressPort(t)}`;
}

/** The target with its uri and key filled in (kept when already right). */
export function withAddressing<T extends Omit<Target, 'uri' | 'key'>>(t: T): T & Pick<Target, 'uri' | 'key'> {
  return { ...t, uri: targetUri(t), key: targetText(t) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A target key read from untrusted data (address made canonical), or undefined. */
export function readTargetKey(v: unknown): TargetKey | undefined {
  if (!isObject(v)) return undefined;
  const { transport, address, port } = v;
  if (typeof transport !== 'string' || !isTransport(transport)) return undefined;
  const canonical = typeof address === 'string' ? canonicalAddress(address) : undefined;
  if (canonical === undefined) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { transport, address: canonical, port };
}

/** A full target read from untrusted data (missing descriptive fields are filled in), or undefined. */
export function readTarget(v: unknown): Target | undefined {
  const key = readTargetKey(v);
  if (!key || !isObject(v)) return undefined;
  const host = typeof v.host === 'string' && v.host.length > 0 && v.host.length <= MAX_HOST ? v.host : key.address;
  const source =
    v.source === 'numeric' ||
    v.source === 'naptr' ||
    v.source === 'srv' ||
    v.source === 'address' ||
    v.source === 'system'
      ? v.source
      : 'address';
  const ttl = typeof v.ttl === 'number' && Number.isFinite(v.ttl) && v.ttl >= 0 ? v.ttl : 0;
  return withAddressing({ ...key, family: isIP(key.address) === 6 ? 6 : 4, host, source, ttl });
}

/** Fills the fields a bare TargetKey lacks (family, host, source, ttl, uri, key), keeping those it has. */
export function asTarget(t: TargetKey): Target {
  const full = t as Partial<Target>;
  return withAddressing({
    transport: t.transport,
    address: t.address,
    port: t.port,
    family: full.family ?? (isIP(t.address) === 6 ? 6 : 4),
    host: full.host ?? t.address,
    source: full.source ?? 'address',
    ttl: full.ttl ?? 0,
  });
}
