import type { FamilyPolicy } from '../types';

/** Addresses of one host by family, with the smallest TTL of what was found. */
export interface HostAddresses {
  v4: string[];
  v6: string[];
  ttl: number;
  /** Error code of a failed look-up (not for NXDOMAIN/NODATA), for messages. */
  error?: string;
  /** True when the addresses came from the operating system's resolver. */
  system?: boolean;
  /** The family that has addresses but the family policy excludes (for messages). */
  excluded?: 4 | 6;
}

/** Most addresses used per host. */
export const MAX_ADDRESSES_PER_HOST = 32;

/** The addresses of a host in the order the family policy asks for. */
export function orderByFamily(addrs: HostAddresses, policy: FamilyPolicy): Array<{ address: string; family: 4 | 6 }> {
  const v4 =
    policy === 'ipv6'
      ? []
      : addrs.v4.slice(0, MAX_ADDRESSES_PER_HOST).map((address) => ({ address, family: 4 as const }));
  const v6 =
    policy === 'ipv4'
      ? []
      : addrs.v6.slice(0, MAX_ADDRESSES_PER_HOST).map((address) => ({ address, family: 6 as const }));
  return policy === 'ipv6-first' || policy === 'ipv6' ? [...v6, ...v4] : [...v4, ...v6];
}

/** True when the policy wants A records, AAAA records. */
export function familiesWanted(policy: FamilyPolicy): { v4: boolean; v6: boolean } {
  return { v4: policy !== 'ipv6', v6: policy !== 'ipv4' };
}
