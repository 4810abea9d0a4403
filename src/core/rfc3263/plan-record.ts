/** A plan as a store keeps it (plain JSON, only what rebuilds the targets) and back again. */
import type { PlanHostRecord, PlanRecord } from '../types';
import { MAX_ADDRESSES_PER_HOST, type HostAddresses } from './addresses';
import type { Plan, PlanEntry } from './plan';
import { MAX_SRV } from './srv';

/** TTL of a plan rebuilt from a saved record, seconds: it is stale data (RFC 8767 section 4). */
export const SAVED_PLAN_TTL = 30;
/** Most entries (NAPTR and SRV steps) of a saved plan. */
export const MAX_PLAN_ENTRIES = 32;
/** Most addresses of a saved plan in all. */
export const MAX_PLAN_ADDRESSES = 1024;
/**
 * Most host names (SRV targets and hosts with addresses) of a saved plan: far more than a destination needs, far
 * fewer than 32 entries of 64 SRV records of 255-character names (a 1.5 MB plan) that a forged record could hold.
 */
export const MAX_PLAN_NAMES = 512;
/** Largest saved plan, bytes as planRecordBytes() counts them (about its JSON size). */
export const MAX_PLAN_BYTES = 64 * 1024;

/** A record's size in bytes, about its JSON length: what the bounds on saved plans count. */
export function planRecordBytes(r: PlanRecord): number {
  const host = (h: PlanHostRecord): number =>
    48 + h.host.length + h.v4.reduce((n, a) => n + 3 + a.length, 0) + h.v6.reduce((n, a) => n + 3 + a.length, 0);
  let bytes = 96 + r.destination.length;
  for (const e of r.entries) {
    if (e.kind === 'address') bytes += 64 + e.host.length + host(e.addrs);
    else {
      bytes += 48;
      for (const s of e.srv) bytes += 48 + s.target.length;
      for (const h of e.hosts) bytes += host(h);
    }
  }
  return bytes;
}

/** Why a record is too large to keep (names or bytes over MAX_PLAN_NAMES or MAX_PLAN_BYTES), else undefined. */
export function planRecordTooLarge(r: PlanRecord): string | undefined {
  let names = 0;
  for (const e of r.entries) names += e.kind === 'address' ? 1 : e.srv.length + e.hosts.length;
  if (names > MAX_PLAN_NAMES) return `it names ${names} hosts, more than ${MAX_PLAN_NAMES}`;
  const bytes = planRecordBytes(r);
  return bytes > MAX_PLAN_BYTES ? `it takes ${bytes} bytes, more than ${MAX_PLAN_BYTES}` : undefined;
}

function hostRecord(host: string, a: HostAddresses): PlanHostRecord {
  // Only the addresses a draw can use (planTargets takes the first MAX_ADDRESSES_PER_HOST of each family).
  const v4 = a.v4.slice(0, MAX_ADDRESSES_PER_HOST);
  const v6 = a.v6.slice(0, MAX_ADDRESSES_PER_HOST);
  return a.system ? { host, v4, v6, ttl: a.ttl, system: true } : { host, v4, v6, ttl: a.ttl };
}

function hostAddresses(h: PlanHostRecord): HostAddresses {
  return h.system
    ? { v4: [...h.v4], v6: [...h.v6], ttl: SAVED_PLAN_TTL, system: true }
    : { v4: [...h.v4], v6: [...h.v6], ttl: SAVED_PLAN_TTL };
}

/** The record of a destination's plan, kept for lifeMs from now; undefined when it is too large to keep (see the caps above). */
export function planToRecord(destination: string, plan: Plan, now: number, lifeMs: number): PlanRecord | undefined {
  if (plan.entries.length === 0 || plan.entries.length > MAX_PLAN_ENTRIES) return undefined;
  const entries = plan.entries.map((e): PlanRecord['entries'][number] =>
    e.kind === 'srv'
      ? {
          kind: 'srv',
          transport: e.transport,
          source: e.source,
          srv: e.srv
            .slice(0, MAX_SRV)
            .map((s) => ({ priority: s.priority, weight: s.weight, port: s.port, target: s.target })),
          hosts: [...e.hosts].slice(0, MAX_SRV).map(([host, a]) => hostRecord(host, a)),
        }
      : {
          kind: 'address',
          transport: e.transport,
          source: e.source,
          host: e.host,
          port: e.port,
          addrs: hostRecord(e.host, e.addrs),
        },
  );
  let addresses = 0;
  for (const e of entries)
    for (const h of e.kind === 'srv' ? e.hosts : [e.addrs]) addresses += h.v4.length + h.v6.length;
  if (addresses > MAX_PLAN_ADDRESSES) return undefined;
  const record: PlanRecord = { destination, entries, ttl: plan.ttl, savedAt: now, expiresAt: now + lifeMs };
  return planRecordTooLarge(record) === undefined ? record : undefined;
}

/** A stale plan (TTL SAVED_PLAN_TTL) rebuilt from a validated record. */
export function planFromRecord(record: PlanRecord): Plan {
  const entries = record.entries.map((e): PlanEntry =>
    e.kind === 'srv'
      ? {
          kind: 'srv',
          transport: e.transport,
          source: e.source,
          srv: e.srv.map((s) => ({ ...s })),
          hosts: new Map(e.hosts.map((h) => [h.host, hostAddresses(h)])),
        }
      : {
          kind: 'address',
          transport: e.transport,
          source: e.source,
          host: e.host,
          port: e.port,
          addrs: hostAddresses(e.addrs),
        },
  );
  return { entries, ttl: SAVED_PLAN_TTL, stale: true };
}

/** True when two records would rebuild the same targets (what changed is worth a write). */
export function samePlan(a: PlanRecord, b: PlanRecord): boolean {
  // TTLs count down in the cache: they do not make a plan new.
  const text = (r: PlanRecord): string =>
    JSON.stringify(r.entries, (key, value: unknown) => (key === 'ttl' ? undefined : value));
  return text(a) === text(b);
}
