/** Checking marks, pins and changes that come back from a store or another instance: untrusted input. */
import { isIP } from 'node:net';
import { isTransport } from '../core/rfc3263/transports';
import { readTarget, readTargetKey } from '../core/target';
import { isAdminState, MAX_ADMIN_SECONDS } from '../core/failover/admin';
import { MAX_ADDRESSES_PER_HOST } from '../core/rfc3263/addresses';
import { MAX_PLAN_ADDRESSES, MAX_PLAN_ENTRIES, MAX_PLAN_NAMES, planRecordTooLarge } from '../core/rfc3263/plan-record';
import { MAX_SRV } from '../core/rfc3263/srv';
import { MAX_AFFINITY_KEY } from '../core/rfc3263/affinity';
import type {
  AdminRecord,
  MarkRecord,
  PinRecord,
  PlanHostRecord,
  PlanRecord,
  PlanRecordEntry,
  StateChange,
} from '../core/types';

/** Longest pin destination: a destination (2100) or a destination, '#' and an affinity key (pinScope()). */
const MAX_DESTINATION = 2100 + 1 + MAX_AFFINITY_KEY;
const MAX_HOST = 255;

export { readTarget, readTargetKey };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** A mark read from untrusted data; `expiresAt` may be replaced by the caller's own clock. */
export function readMark(v: unknown, expiresAt?: number): MarkRecord | undefined {
  const key = readTargetKey(v);
  if (!key || !isObject(v) || (v.mark !== 'grey' && v.mark !== 'black')) return undefined;
  const expiry = expiresAt ?? v.expiresAt;
  if (!isTime(expiry)) return undefined;
  return { ...key, mark: v.mark, expiresAt: expiry };
}

/** An operator state read from untrusted data; `expiresAt` may be replaced by the caller's own clock (null: none). */
export function readAdmin(v: unknown, expiresAt?: number | null): AdminRecord | undefined {
  const key = readTargetKey(v);
  if (!key || !isObject(v) || !isAdminState(v.state) || !isTime(v.since)) return undefined;
  const expiry = expiresAt === null ? undefined : (expiresAt ?? v.expiresAt);
  if (expiry !== undefined && !isTime(expiry)) return undefined;
  return { ...key, state: v.state, since: v.since, ...(expiry !== undefined ? { expiresAt: expiry } : {}) };
}

function readDestination(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_DESTINATION ? v : undefined;
}

/** A pin read from untrusted data; `expiresAt` may be replaced by the caller's own clock. */
export function readPin(v: unknown, expiresAt?: number): PinRecord | undefined {
  if (!isObject(v)) return undefined;
  const destination = readDestination(v.destination);
  const target = readTarget(v.target);
  const expiry = expiresAt ?? v.expiresAt;
  if (destination === undefined || !target || !isTime(expiry) || !isTime(v.pinnedAt)) return undefined;
  return { destination, target, pinnedAt: v.pinnedAt, expiresAt: expiry };
}

export { MAX_PLAN_ADDRESSES, MAX_PLAN_ENTRIES, MAX_PLAN_NAMES };

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function readHostName(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_HOST ? v : undefined;
}

function readAddresses(v: unknown, family: 4 | 6): string[] | undefined {
  if (!Array.isArray(v) || v.length > MAX_ADDRESSES_PER_HOST) return undefined;
  return v.every((a) => typeof a === 'string' && isIP(a) === family) ? (v as string[]).slice() : undefined;
}

function readHost(v: unknown): PlanHostRecord | undefined {
  if (!isObject(v)) return undefined;
  const host = readHostName(v.host);
  const v4 = readAddresses(v.v4, 4);
  const v6 = readAddresses(v.v6, 6);
  if (
    host === undefined ||
    !v4 ||
    !v6 ||
    !isInt(v.ttl, 0, 2 ** 31 - 1) ||
    (v.system !== undefined && typeof v.system !== 'boolean')
  )
    return undefined;
  return v.system === true ? { host, v4, v6, ttl: v.ttl, system: true } : { host, v4, v6, ttl: v.ttl };
}

function readPlanEntry(v: unknown): PlanRecordEntry | undefined {
  if (!isObject(v) || typeof v.transport !== 'string' || !isTransport(v.transport)) return undefined;
  const transport = v.transport;
  if (v.kind === 'address') {
    const host = readHostName(v.host);
    const addrs = readHost(v.addrs);
    if (host === undefined || !addrs || !isInt(v.port, 1, 65535)) return undefined;
    if (v.source !== 'naptr' && v.source !== 'address' && v.source !== 'numeric') return undefined;
    return { kind: 'address', transport, source: v.source, host, port: v.port, addrs };
  }
  if (v.kind !== 'srv' || (v.source !== 'naptr' && v.source !== 'srv')) return undefined;
  if (!Array.isArray(v.srv) || v.srv.length > MAX_SRV || !Array.isArray(v.hosts) || v.hosts.length > MAX_SRV)
    return undefined;
  const srv: Array<{ priority: number; weight: number; port: number; target: string }> = [];
  for (const r of v.srv as unknown[]) {
    if (!isObject(r) || !isInt(r.priority, 0, 65535) || !isInt(r.weight, 0, 65535) || !isInt(r.port, 1, 65535))
      return undefined;
    const target = readHostName(r.target);
    if (target === undefined) return undefined;
    srv.push({ priority: r.priority, weight: r.weight, port: r.port, target });
  }
  const hosts: PlanHostRecord[] = [];
  for (const h of v.hosts as unknown[]) {
    const host = readHost(h);
    if (!host) return undefined;
    hosts.push(host);
  }
  return { kind: 'srv', transport, source: v.source, srv, hosts };
}

/**
 * A saved plan read from untrusted data, capped in entries, addresses, names and bytes (MAX_PLAN_*); `expiresAt` may
 * be replaced by the caller's own clock; undefined when invalid (the locator clamps savedAt to when it received the plan).
 */
export function readPlan(v: unknown, expiresAt?: number): PlanRecord | undefined {
  if (!isObject(v) || !Array.isArray(v.entries) || v.entries.length === 0 || v.entries.length > MAX_PLAN_ENTRIES)
    return undefined;
  const destination = readDestination(v.destination);
  const expiry = expiresAt ?? v.expiresAt;
  if (destination === undefined || !isTime(expiry) || !isTime(v.savedAt) || !isInt(v.ttl, 0, 2 ** 31 - 1))
    return undefined;
  const entries: PlanRecordEntry[] = [];
  let addresses = 0;
  let names = 0;
  for (const e of v.entries as unknown[]) {
    // Counted before an entry is read, so a forged entry costs no more than the bound.
    if (isObject(e))
      names +=
        e.kind === 'srv'
          ? (Array.isArray(e.srv) ? e.srv.length : 0) + (Array.isArray(e.hosts) ? e.hosts.length : 0)
          : 1;
    if (names > MAX_PLAN_NAMES) return undefined;
    const entry = readPlanEntry(e);
    if (!entry) return undefined;
    for (const h of entry.kind === 'srv' ? entry.hosts : [entry.addrs]) addresses += h.v4.length + h.v6.length;
    if (addresses > MAX_PLAN_ADDRESSES) return undefined;
    entries.push(entry);
  }
  const plan: PlanRecord = { destination, entries, ttl: v.ttl, savedAt: v.savedAt, expiresAt: expiry };
  return planRecordTooLarge(plan) === undefined ? plan : undefined;
}

/** A change read from untrusted data, with record expiries rebased on `now` + `ttlMs` when given; undefined when invalid. */
export function readChange(v: unknown, now?: number, ttlMs?: number): StateChange | undefined {
  if (!isObject(v)) return undefined;
  const rebased = now !== undefined && ttlMs !== undefined && isTime(ttlMs) ? now + ttlMs : undefined;
  switch (v.op) {
    case 'mark': {
      const mark = readMark(v.mark, rebased);
      return mark && { op: 'mark', mark };
    }
    case 'unmark': {
      const target = readTargetKey(v.target);
      return target && { op: 'unmark', target };
    }
    case 'pin': {
      const pin = readPin(v.pin, rebased);
      if (!pin) return undefined;
      const replaces = v.replaces === undefined ? undefined : readTargetKey(v.replaces);
      if (v.replaces !== undefined && !replaces) return undefined;
      return replaces ? { op: 'pin', pin, replaces } : { op: 'pin', pin };
    }
    case 'unpin': {
      const destination = readDestination(v.destination);
      const target = readTargetKey(v.target);
      return destination !== undefined && target ? { op: 'unpin', destination, target } : undefined;
    }
    case 'reset':
      return { op: 'reset' };
    case 'admin': {
      const admin = readAdmin(v.admin, isObject(v.admin) && v.admin.expiresAt !== undefined ? rebased : undefined);
      return admin && { op: 'admin', admin };
    }
    case 'plan': {
      const plan = readPlan(v.plan, rebased);
      return plan && { op: 'plan', plan };
    }
    default:
      return undefined;
  }
}

/** Milliseconds a change's record has left at `now` (0 for changes without a record). */
export function ttlOf(change: StateChange, now: number): number {
  if (change.op === 'mark') return Math.max(0, change.mark.expiresAt - now);
  if (change.op === 'pin') return Math.max(0, change.pin.expiresAt - now);
  if (change.op === 'admin' && change.admin.expiresAt !== undefined) return Math.max(0, change.admin.expiresAt - now);
  if (change.op === 'plan') return Math.max(0, change.plan.expiresAt - now);
  return 0;
}

/** The longest a record from elsewhere may live here, ms: the same maxima local records have. */
export interface RecordLimits {
  maxPinMs: number;
  maxMarkMs: number;
}

/** A change from a store or another instance with its record's expiry capped by the local maxima. */
export function capChange(change: StateChange, now: number, limits: RecordLimits): StateChange {
  if (change.op === 'mark' && change.mark.expiresAt > now + limits.maxMarkMs)
    return { ...change, mark: { ...change.mark, expiresAt: now + limits.maxMarkMs } };
  if (change.op === 'pin' && change.pin.expiresAt > now + limits.maxPinMs)
    return { ...change, pin: { ...change.pin, expiresAt: now + limits.maxPinMs } };
  if (
    change.op === 'admin' &&
    change.admin.expiresAt !== undefined &&
    change.admin.expiresAt > now + MAX_ADMIN_SECONDS * 1000
  )
    return { ...change, admin: { ...change.admin, expiresAt: now + MAX_ADMIN_SECONDS * 1000 } };
  return change;
}
