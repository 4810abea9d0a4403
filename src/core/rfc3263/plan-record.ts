/** A plan as a store keeps it (plain JSON, only what rebuilds the targets) and back again. */
import type { PlanHostRecord, PlanRecord } from '../types';
import type { HostAddresses } from './addresses';
import type { Plan, PlanEntry } from './plan';

/** TTL of a plan rebuilt from a saved record, seconds: it is stale data (RFC 8767 section 4). */
export const SAVED_PLAN_TTL = 30;

function hostRecord(host: string, a: HostAddresses): PlanHostRecord {
  return a.system ? { host, v4: [...a.v4], v6: [...a.v6], ttl: a.ttl, system: true } : { host, v4: [...a.v4], v6: [...a.v6], ttl: a.ttl };
}

function hostAddresses(h: PlanHostRecord): HostAddresses {
  return h.system ? { v4: [...h.v4], v6: [...h.v6], ttl: SAVED_PLAN_TTL, system: true } : { v4: [...h.v4], v6: [...h.v6], ttl: SAVED_PLAN_TTL };
}

/** The record of a destination's plan, kept for lifeMs from now. */
export function planToRecord(destination: string, plan: Plan, now: number, lifeMs: number): PlanRecord {
  const entries = plan.entries.map((e): PlanRecord['entries'][number] => (e.kind === 'srv'
    ? { kind: 'srv', transport: e.transport, source: e.source, srv: e.srv.map((s) => ({ priority: s.priority, weight: s.weight, port: s.port, target: s.target })), hosts: [...e.hosts].map(([host, a]) => hostRecord(host, a)) }
    : { kind: 'address', transport: e.transport, source: e.source, host: e.host, port: e.port, addrs: hostRecord(e.host, e.addrs) }));
  return { destination, entries, ttl: plan.ttl, savedAt: now, expiresAt: now + lifeMs };
}

/** A stale plan (TTL SAVED_PLAN_TTL) rebuilt from a validated record. */
export function planFromRecord(record: PlanRecord): Plan {
  const entries = record.entries.map((e): PlanEntry => (e.kind === 'srv'
    ? { kind: 'srv', transport: e.transport, source: e.source, srv: e.srv.map((s) => ({ ...s })), hosts: new Map(e.hosts.map((h) => [h.host, hostAddresses(h)])) }
    : { kind: 'address', transport: e.transport, source: e.source, host: e.host, port: e.port, addrs: hostAddresses(e.addrs) }));
  return { entries, ttl: SAVED_PLAN_TTL, stale: true };
}

/** True when two records would rebuild the same targets (what changed is worth a write). */
export function samePlan(a: PlanRecord, b: PlanRecord): boolean {
  // TTLs count down in the cache: they do not make a plan new.
  const text = (r: PlanRecord): string => JSON.stringify(r.entries, (key, value: unknown) => (key === 'ttl' ? undefined : value));
  return text(a) === text(b);
}
