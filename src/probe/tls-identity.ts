/** RFC 5922 TLS identity for probes: which name the certificate must hold, SNI, and a failure that names what it holds. */
import { isIP } from 'node:net';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';

/** Whose name the server certificate must hold: the SIP domain of the URI, the target's host name, or either. */
export type TlsIdentity = 'domain' | 'target' | 'either';

/** The TLS identity settings accepted. */
export const TLS_IDENTITIES: readonly TlsIdentity[] = ['domain', 'target', 'either'];

/** What the TLS identity of one probe depends on. */
export interface TlsIdentityInput {
  /** The SIP domain (host of the URI being located); already checked as a host. */
  domain: string;
  /** The target's host name (SRV target or the address); already checked as a host. */
  targetHost: string;
  identity: TlsIdentity;
  /** False: accept any certificate (no chain or name check). */
  verify: boolean;
  /** Trusted CA certificates in PEM instead of the system's (for private PKIs and tests). */
  ca?: string | Buffer | Array<string | Buffer>;
}

const MAX_NAMES_IN_MESSAGE = 8;

function normal(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The identities a certificate holds per RFC 5922 7.1: sip: URI and DNS subjectAltNames, else the subject CN; IPs apart. */
export function certificateNames(cert: PeerCertificate): { names: string[]; ips: string[] } {
  const names: string[] = [];
  const ips: string[] = [];
  const san = typeof cert.subjectaltname === 'string' ? cert.subjectaltname : '';
  for (const entry of san.split(/,\s*/)) {
    const m = /^(DNS|URI|IP Address):(.+)$/.exec(entry.trim());
    if (!m) continue;
    if (m[1] === 'DNS') names.push(normal(m[2]!));
    else if (m[1] === 'IP Address') ips.push(m[2]!.toLowerCase());
    else {
      const sip = /^sips?:([^;:@/?]+)$/i.exec(m[2]!);
      if (sip) names.push(normal(sip[1]!));
    }
  }
  const cn = cert.subject?.CN;
  if (!san && typeof cn === 'string') names.push(normal(cn));
  return { names: [...new Set(names)], ips: [...new Set(ips)] };
}

/** True when the certificate holds `name` exactly (case-insensitive, no wildcard per RFC 5922 7.2). */
export function certificateHolds(cert: PeerCertificate, name: string): boolean {
  const held = certificateNames(cert);
  return isIP(name) !== 0 ? held.ips.includes(name.toLowerCase()) : held.names.includes(normal(name));
}

/** The names the certificate must hold (one of them), in order of preference. */
export function acceptedNames(i: Pick<TlsIdentityInput, 'domain' | 'targetHost' | 'identity'>): string[] {
  if (i.identity === 'domain') return [i.domain];
  if (i.identity === 'target') return [i.targetHost];
  return normal(i.domain) === normal(i.targetHost) ? [i.domain] : [i.domain, i.targetHost];
}

/** Printable names for a message: visible characters only, at most a few. */
function listed(names: string[]): string {
  const safe = names.map((n) => n.replace(/[^\x21-\x7e]/g, '?').slice(0, 80));
  const shown = safe.slice(0, MAX_NAMES_IN_MESSAGE).join(', ');
  return safe.length > MAX_NAMES_IN_MESSAGE ? `${shown} and ${safe.length - MAX_NAMES_IN_MESSAGE} more` : shown;
}

/** The sentence for a certificate that holds none of the accepted names. */
export function identityMismatch(cert: PeerCertificate, i: TlsIdentityInput): string {
  const held = certificateNames(cert);
  const all = [...held.names, ...held.ips];
  const holds = all.length > 0 ? `it holds ${listed(all)}` : 'it holds no DNS name';
  return `the TLS certificate is not valid for ${acceptedNames(i).join(' or ')} (tlsIdentity ${i.identity}); ${holds}.`;
}

/** tls.connect options for the identity: SNI, CAs, and a check that accepts exactly the accepted names. */
export function tlsConnectOptions(
  i: TlsIdentityInput,
): Pick<ConnectionOptions, 'servername' | 'rejectUnauthorized' | 'ca' | 'checkServerIdentity'> {
  const accepted = acceptedNames(i);
  const sni = accepted[0]!;
  const out: Pick<ConnectionOptions, 'servername' | 'rejectUnauthorized' | 'ca' | 'checkServerIdentity'> = {
    // SNI carries a host name only (RFC 6066 3), never an IP literal.
    servername: isIP(sni) === 0 ? normal(sni) : '',
    rejectUnauthorized: i.verify,
  };
  if (i.ca !== undefined) out.ca = i.ca;
  if (i.verify) {
    out.checkServerIdentity = (_host: string, cert: PeerCertificate): Error | undefined => {
      if (accepted.some((name) => certificateHolds(cert, name))) return undefined;
      return new Error(identityMismatch(cert, i));
    };
  }
  return out;
}
