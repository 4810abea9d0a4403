/** The printable forms of a target: its SIP URI (`sip:[2001:db8::1]:5060;transport=udp`) and its key (`udp:192.0.2.1:5060`). */
import type { Target, TargetKey, Transport } from './types';

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

/** The target's key: `udp:192.0.2.1:5060`, `tls:[2001:db8::1]:5061`. */
export function targetKeyText(t: TargetKey): string {
  return `${t.transport}:${hostPart(t.address)}:${t.port}`;
}

/** The target with its uri and key filled in (kept when already right). */
export function withAddressing<T extends Omit<Target, 'uri' | 'key'>>(t: T): T & Pick<Target, 'uri' | 'key'> {
  const uri = targetUri(t);
  const key = targetKeyText(t);
  return { ...t, uri, key };
}
