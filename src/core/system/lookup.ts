import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import type { FamilyPolicy } from '../types';

/** Where A/AAAA come from: DNS only, the operating system only, or DNS and then the OS when DNS has none. */
export type AddressLookup = 'dns' | 'system' | 'dns-then-system';

/** All values of AddressLookup. */
export const ADDRESS_LOOKUPS: readonly AddressLookup[] = ['dns', 'system', 'dns-then-system'];

/** One address as the OS resolver returns it. */
export interface LookupAddress {
  address: string;
  family: number;
}

/** The OS resolver (hosts file, mDNS, nsswitch): dns.lookup with all: true, injectable for tests. */
export type SystemLookup = (host: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>;

/** Node's dns.lookup (getaddrinfo) returning every address. */
export const osLookup: SystemLookup = (host, family) =>
  dnsPromises.lookup(host, { all: true, family, order: 'verbatim' });

/** What the OS said about a host: checked addresses by family, or why there are none. */
export interface SystemAddresses {
  v4: string[];
  v6: string[];
  /** The OS error code (ENOTFOUND, EAI_AGAIN, ...) when the lookup failed. */
  failure?: string;
}

/** Asks the OS for the addresses of host that the family policy wants, at most `max` per family; never throws. */
export async function systemAddresses(
  lookup: SystemLookup,
  host: string,
  policy: FamilyPolicy,
  max: number,
): Promise<SystemAddresses> {
  const family = policy === 'ipv4' ? 4 : policy === 'ipv6' ? 6 : 0;
  let list: LookupAddress[];
  try {
    list = await lookup(host, family);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    return { v4: [], v6: [], failure: typeof code === 'string' ? code.slice(0, 40) : 'ENOTFOUND' };
  }
  const out: SystemAddresses = { v4: [], v6: [] };
  for (const a of Array.isArray(list) ? list : []) {
    const kind = typeof a?.address === 'string' ? isIP(a.address) : 0;
    if (kind === 4 && policy !== 'ipv6' && out.v4.length < max && !out.v4.includes(a.address)) out.v4.push(a.address);
    else if (kind === 6 && policy !== 'ipv4' && out.v6.length < max && !a.address.includes('%')) {
      const v6 = a.address.toLowerCase();
      if (!out.v6.includes(v6)) out.v6.push(v6);
    }
  }
  return out;
}
