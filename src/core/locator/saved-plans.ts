/** Each destination's last good plan (RFC 8767 across restarts and instances): kept, reported to stores, used in an outage. */
import type { Clock, PlanRecord, TraceNode } from '../types';
import { OUTAGE_CODES } from '../dns/outage';
import { SipLocateError } from '../errors';
import type { Plan } from '../rfc3263/plan';
import { planFromRecord, planToRecord, samePlan } from '../rfc3263/plan-record';
import { BoundedPlans } from './bounded-plans';

/** A destination's unchanged last good plan is reported to stores at most this often, ms. */
export const PLAN_WRITE_INTERVAL_MS = 60_000;

/** A destination's last plan built from fresh DNS data (or read back from a store), and when it was last reported. */
interface SavedPlan {
  record: PlanRecord;
  /** Rebuilt from the record when first needed. */
  plan?: Plan;
  reportedAt: number;
  /** Built here from fresh DNS data (not read from a store). */
  local: boolean;
}

/**
 * Last good plans by destination, LRU, at most `maxEntries` of them and `maxBytes` in all, each kept staleMs (0: none
 * kept). `fresh(destination)` tells whether this locator holds an unexpired plan of its own for it.
 */
export class SavedPlans {
  private readonly saved: BoundedPlans<SavedPlan>;

  constructor(
    private readonly clock: Clock,
    private readonly staleMs: number,
    maxEntries: number,
    maxBytes: number,
    private readonly fresh: (destination: string) => boolean,
  ) {
    this.saved = new BoundedPlans(maxEntries, maxBytes);
  }

  /**
   * Keeps a plan built from fresh DNS data as the destination's last good plan; returns its record when it is due to
   * be reported (new, changed, or unchanged for PLAN_WRITE_INTERVAL_MS).
   */
  keepGood(destination: string, plan: Plan): PlanRecord | undefined {
    if (this.staleMs === 0 || plan.stale || plan.ttl <= 0) return undefined;
    // Numeric hosts need no DNS at all.
    if (plan.entries.every((e) => e.kind === 'address' && e.source === 'numeric')) return undefined;
    const now = this.clock.now();
    const record = planToRecord(destination, plan, now, this.staleMs);
    if (!record) return undefined;
    const old = this.saved.get(destination);
    const due = !old || !samePlan(old.record, record) || now - old.reportedAt >= PLAN_WRITE_INTERVAL_MS;
    this.saved.set(destination, { record, reportedAt: due ? now : old.reportedAt, local: true });
    return due ? record : undefined;
  }

  /**
   * Keeps a last good plan read from a store, its savedAt clamped to now (a far-future one cannot outrank later
   * updates) and its lifetime capped by staleSeconds, unless a newer one is held or this locator's own plan for the
   * destination is still fresh (its DNS data has not expired).
   */
  keepSaved(record: PlanRecord): void {
    const now = this.clock.now();
    const expiresAt = Math.min(record.expiresAt, now + this.staleMs);
    if (this.staleMs === 0 || expiresAt <= now) return;
    const savedAt = Math.min(record.savedAt, now);
    const old = this.saved.get(record.destination);
    if (old && (old.record.savedAt >= savedAt || (old.local && this.fresh(record.destination)))) return;
    this.saved.set(record.destination, { record: { ...record, savedAt, expiresAt }, reportedAt: now, local: false });
  }

  /** The destination's last good plan (as a stale plan) when `err` means DNS gave no answer; with a trace saying so. */
  fallback(destination: string, err: unknown, trace: boolean): { plan: Plan; trace?: TraceNode } | undefined {
    if (this.staleMs === 0 || !(err instanceof SipLocateError) || !OUTAGE_CODES.has(err.code)) return undefined;
    const entry = this.saved.get(destination);
    if (!entry || entry.record.expiresAt <= this.clock.now()) return undefined;
    entry.plan ??= planFromRecord(entry.record);
    if (!trace) return { plan: entry.plan };
    const note = `DNS gave no answer (${err.code}); the last good plan, saved ${new Date(entry.record.savedAt).toISOString()}, is used (RFC 8767).`;
    return {
      plan: entry.plan,
      trace: {
        kind: 'uri',
        name: destination,
        outcome: 'stale',
        children: [{ kind: 'note', name: 'stale', outcome: 'stale', note, children: [] }],
      },
    };
  }

  /** Every unexpired last good plan. */
  list(): PlanRecord[] {
    const now = this.clock.now();
    return [...this.saved.values()].filter((e) => e.record.expiresAt > now).map((e) => e.record);
  }

  clear(): void {
    this.saved.clear();
  }
}
