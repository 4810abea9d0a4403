import type { Transport } from '../types';

/** Everything the package knows about one SIP transport: NAPTR service, SRV prefix, default port. */
export interface TransportInfo {
  transport: Transport;
  /** NAPTR service field (RFC 3263, RFC 4168, RFC 7118). */
  service: string;
  /** SRV owner prefix, without the trailing dot. */
  srvPrefix: string;
  defaultPort: number;
  /** True for transports a sips: URI may use. */
  secure: boolean;
}

/** The one table: transport <-> NAPTR service <-> SRV prefix <-> default port. */
export const TRANSPORTS: readonly TransportInfo[] = [
  { transport: 'udp', service: 'SIP+D2U', srvPrefix: '_sip._udp', defaultPort: 5060, secure: false },
  { transport: 'tcp', service: 'SIP+D2T', srvPrefix: '_sip._tcp', defaultPort: 5060, secure: false },
  { transport: 'tls', service: 'SIPS+D2T', srvPrefix: '_sips._tcp', defaultPort: 5061, secure: true },
  { transport: 'sctp', service: 'SIP+D2S', srvPrefix: '_sip._sctp', defaultPort: 5060, secure: false },
  { transport: 'ws', service: 'SIP+D2W', srvPrefix: '_sip._ws', defaultPort: 80, secure: false },
  { transport: 'wss', service: 'SIPS+D2W', srvPrefix: '_sips._ws', defaultPort: 443, secure: true },
];

const BY_TRANSPORT = new Map(TRANSPORTS.map((t) => [t.transport, t]));
const BY_SERVICE = new Map(TRANSPORTS.map((t) => [t.service, t]));

/** The table row of a transport. */
export function transportInfo(t: Transport): TransportInfo {
  return BY_TRANSPORT.get(t)!;
}

/** The table row of a NAPTR service (case-insensitive), or undefined (e.g. SIPS+D2S, TLS over SCTP, which has no Transport value). */
export function serviceInfo(service: string): TransportInfo | undefined {
  return BY_SERVICE.get(service.toUpperCase());
}

/** True when `name` is a transport name the package knows. */
export function isTransport(name: string): name is Transport {
  return BY_TRANSPORT.has(name as Transport);
}

/** The default port of a transport. */
export function defaultPort(t: Transport): number {
  return transportInfo(t).defaultPort;
}
