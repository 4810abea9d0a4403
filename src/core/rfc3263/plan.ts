import type { SrvData } from '../dns/types';
import type { FamilyPolicy, Target, Transport } from '../types';
import { orderByFamily, type HostAddresses } from './addresses';
import { orderSrv } from './srv';

/** Targets from an SRV RRset: ordered anew (RFC 2782 weights) every time targets are drawn. */
export interface SrvPlanEntry {
  kind: 'srv';
  transport: Transport;
  source: 'naptr' | 'srv';
  srv: SrvData[];
  /** Addresses per SRV target host. */
  hosts: Map<string, HostAddresses>;
}

/** Targets from one host's addresses and a fixed port. */
export interface AddressPlanEntry {
  kind: 'address';
  transport: Transport;
  source: 'naptr' | 'address' | 'numeric';
  host: string;
  port: number;
  addrs: HostAddresses;
}

/** One step of a plan. */
export type PlanEntry = SrvPlanEntry | AddressPlanEntry;

/** What DNS said about a destination, before the random draw: entries in failover order, and how long it holds. */
export interface Plan {
  entries: PlanEntry[];
  /** Seconds the plan stays valid (smallest TTL seen; 0 = do not reuse). */
  ttl: number;
}

function keyOf(t: { transport: string; address: string; port: number }): string {
  return `${t.transport}|${t.address}|${t.port}`;
}

/** Draws the ordered targets of a plan: weighted SRV order, family policy, duplicates removed, truncated at maxTargets. */
export function planTargets(plan: Plan, family: FamilyPolicy, random: () => number, maxTargets: number): Target[] {
  const out: Target[] = [];
  const seen = new Set<string>();
  const push = (t: Target): boolean => {
    const k = keyOf(t);
    if (seen.has(k)) return true;
    seen.add(k);
    out.push(t);
    return out.length < maxTargets;
  };
  for (const entry of plan.entries) {
    if (entry.kind === 'address') {
      for (const a of orderByFamily(entry.addrs, family)) {
        if (!push({ transport: entry.transport, address: a.address, port: entry.port, family: a.family, host: entry.host, source: entry.source, ttl: Math.min(plan.ttl, entry.addrs.ttl) })) return out;
      }
      continue;
    }
    for (const srv of orderSrv(entry.srv, random)) {
      const addrs = entry.hosts.get(srv.target);
      if (!addrs) continue;
      for (const a of orderByFamily(addrs, family)) {
        if (!push({ transport: entry.transport, address: a.address, port: srv.port, family: a.family, host: srv.target, source: entry.source, ttl: Math.min(plan.ttl, addrs.ttl) })) return out;
      }
    }
  }
  return out;
}
