import type { SrvData } from '../dns/types';
import type { FamilyPolicy, Target, Transport } from '../types';
import { targetId, withAddressing } from '../target';
import { orderByFamily, type HostAddresses } from './addresses';
import { MAX_SRV, orderSrv, srvId } from './srv';

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
  /** Built partly from expired data served under RFC 8767. */
  stale?: boolean;
}

/** One SRV record with its targets already ordered by family. */
interface PreparedSrv {
  srv: SrvData;
  targets: Target[];
}

/** What a plan looks like once prepared for one family policy: fixed parts computed once, not per call. */
type Prepared = Array<{ fixed: Target[] } | { groups: PreparedSrv[][] }>;

const preparedByPlan = new WeakMap<Plan, { family: FamilyPolicy; prepared: Prepared; unique: boolean }>();

function prepare(plan: Plan, family: FamilyPolicy): { prepared: Prepared; unique: boolean } {
  const hit = preparedByPlan.get(plan);
  if (hit && hit.family === family) return hit;
  const prepared: Prepared = [];
  const keys = new Set<string>();
  let count = 0;
  const note = (ts: Target[]): Target[] => {
    for (const t of ts) keys.add(targetId(t));
    count += ts.length;
    return ts;
  };
  for (const entry of plan.entries) {
    if (entry.kind === 'address') {
      prepared.push({
        fixed: note(
          orderByFamily(entry.addrs, family).map((a) =>
            withAddressing({
              transport: entry.transport,
              address: a.address,
              port: entry.port,
              family: a.family,
              host: entry.host,
              source: entry.addrs.system ? 'system' : entry.source,
              ttl: Math.min(plan.ttl, entry.addrs.ttl),
            }),
          ),
        ),
      });
      continue;
    }
    const groups = new Map<number, PreparedSrv[]>();
    for (const srv of entry.srv.slice(0, MAX_SRV)) {
      if (srv.target === '.') continue;
      const addrs = entry.hosts.get(srv.target);
      const targets = addrs
        ? orderByFamily(addrs, family).map((a) =>
            withAddressing({
              transport: entry.transport,
              address: a.address,
              port: srv.port,
              family: a.family,
              host: srv.target,
              source: addrs.system ? 'system' : entry.source,
              ttl: Math.min(plan.ttl, addrs.ttl),
            }),
          )
        : [];
      note(targets);
      const g = groups.get(srv.priority);
      if (g) g.push({ srv, targets });
      else groups.set(srv.priority, [{ srv, targets }]);
    }
    prepared.push({ groups: [...groups.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]) });
  }
  const result = { family, prepared, unique: keys.size === count };
  preparedByPlan.set(plan, result);
  return result;
}

/**
 * Draws the ordered targets of a plan: weighted SRV order (by rendezvous hashing of `key` when given), family policy,
 * duplicates removed, truncated at maxTargets.
 */
export function planTargets(
  plan: Plan,
  family: FamilyPolicy,
  random: () => number,
  maxTargets: number,
  key?: string,
): Target[] {
  const { prepared, unique } = prepare(plan, family);
  const out: Target[] = [];
  const seen = unique ? undefined : new Set<string>();
  const push = (list: Target[]): boolean => {
    for (const t of list) {
      if (seen) {
        const k = targetId(t);
        if (seen.has(k)) continue;
        seen.add(k);
      }
      out.push({ ...t });
      if (out.length >= maxTargets) return false;
    }
    return true;
  };
  for (const step of prepared) {
    if ('fixed' in step) {
      if (!push(step.fixed)) return out;
      continue;
    }
    for (const group of step.groups) {
      if (group.length === 1) {
        // one record: nothing to draw or hash
        if (!push(group[0]!.targets)) return out;
        continue;
      }
      const byRecord = new Map<SrvData, PreparedSrv>(group.map((g) => [g.srv, g]));
      for (const srv of orderSrv(
        group.map((g) => g.srv),
        random,
        key,
      )) {
        if (!push(byRecord.get(srv)!.targets)) return out;
      }
    }
  }
  return out;
}

/** One server of a plan's first tier: its hashing identity, its SRV weight and its targets in family order. */
export interface HeadUnit {
  id: string;
  weight: number;
  targets: Target[];
}

/**
 * The first tier of a plan: the SRV records of the best priority of its first entry (one unit each, `host:port` as
 * hashed by srvId), or the first entry's host as one unit of weight 1. Units without addresses are left out.
 */
export function planHead(plan: Plan, family: FamilyPolicy): HeadUnit[] {
  const first = prepare(plan, family).prepared[0];
  if (!first) return [];
  if ('fixed' in first) {
    const t = first.fixed[0];
    return t ? [{ id: `${t.host}:${t.port}`, weight: 1, targets: first.fixed }] : [];
  }
  return (first.groups[0] ?? [])
    .filter((g) => g.targets.length > 0)
    .map((g) => ({ id: srvId(g.srv), weight: g.srv.weight, targets: g.targets }));
}
