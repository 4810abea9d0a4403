import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { SipLocateError } from '../errors';

/** A parsed nameserver address. */
export interface Nameserver {
  host: string;
  port: number;
  family: 4 | 6;
  /** "ip:port" or "[ipv6]:port". */
  label: string;
}

/** Parses "ip", "ip:port" or "[ipv6]:port" (a bare IPv6 address is accepted too); throws EINVALIDNAMESERVER. */
export function parseNameserver(text: string): Nameserver {
  const s = String(text).trim();
  let host = s;
  let port = 53;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if (isIP(s) !== 6) {
    const m = /^([^:]+):(\d+)$/.exec(s);
    if (m) {
      host = m[1]!;
      port = Number(m[2]);
    }
  }
  const family = isIP(host);
  if (family === 0) {
    throw new SipLocateError(
      'EINVALIDNAMESERVER',
      `"${s}" is not a nameserver address: use ip, ip:port or [ipv6]:port.`,
      { nameserver: s },
    );
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SipLocateError('EINVALIDNAMESERVER', `The nameserver "${s}" has an invalid port.`, { nameserver: s });
  }
  return { host, port, family: family as 4 | 6, label: family === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}

/** The nameservers listed in a resolv.conf text, in file order (scoped IPv6 addresses are skipped). */
export function parseResolvConf(text: string): Nameserver[] {
  const out: Nameserver[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m || m[1]!.includes('%')) continue;
    try {
      out.push(parseNameserver(isIP(m[1]!) === 6 ? `[${m[1]}]:53` : m[1]!));
    } catch {
      // a line we cannot use is skipped, as the C library does
    }
  }
  return out;
}

/** The system's nameservers from /etc/resolv.conf; throws ENONAMESERVER when there are none. */
export function systemNameservers(path = '/etc/resolv.conf'): Nameserver[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // fall through to the error below
  }
  const list = parseResolvConf(text);
  if (list.length === 0) {
    throw new SipLocateError('ENONAMESERVER', `No nameserver is configured and ${path} lists none.`, { path });
  }
  return list;
}

/** Parses a list of nameserver strings; an empty or absent list means the system's. */
export function resolveNameservers(list: readonly string[] | undefined): Nameserver[] {
  const items = (list ?? []).map((s) => s.trim()).filter((s) => s.length > 0);
  return items.length === 0 ? systemNameservers() : items.map(parseNameserver);
}
