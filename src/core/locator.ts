/**
 * The locator façade: locate() and its relatives over the parts that do the work, one job each:
 * locator/options.ts (settings), locator/querier.ts (DNS), locator/plan-cache.ts (plans, shared builds),
 * locator/saved-plans.ts (last good plans), locator/reports.ts (hand-outs, proxy reports), failover/target-state.ts (marks, pins, operator states, health, order).
 */
import { EnumStep, withEnum } from './enum/step';
import { EventHub } from './events';
import type { DnsClient, QueryEvent } from './dns/types';
import { SipLocateError } from './errors';
import { failoverFrom } from './failover/from-report';
import type { Health, ProbeOutcome } from './failover/health';
import { TargetState } from './failover/target-state';
import { limitLookups } from './system/lookup-limit';
import { osLookup } from './system/lookup';
import { buildPlan } from './rfc3263/locate';
import { planTargets, type Plan } from './rfc3263/plan';
import type {
  AdminRecord, AdminState, Clock, FailoverState, Failure, LocateOptions, LocateResult, LocatorState, PlanRecord,
  ReportOptions, ReportResult, StateChange, Target, TargetKey,
} from './types';
import { readSettings, type CreateLocatorOptions, type LocatorTestOptions, type Settings } from './locator/options';
import { buildQuerier, QueryEvents } from './locator/querier';
import { PlanBuilds } from './locator/plan-builds';
import { PlanCache } from './locator/plan-cache';
import { Reports } from './locator/reports';
import { SavedPlans } from './locator/saved-plans';
import type { LocatorCounters, SipLocator } from './locator/api';

export type { CreateLocatorOptions, LocatorTestOptions } from './locator/options';
export type { LocatorCounters, SipLocator } from './locator/api';
export { LOCATOR_OPTIONS, LOCATOR_CHOICES } from './locator/options';

/** Creates a locator; throws EINVALIDOPTION, EINVALIDNAMESERVER or ENONAMESERVER for bad options. */
export function createLocator(options: CreateLocatorOptions = {}): SipLocator {
  return new LocatorImpl(options);
}

/** createLocator() with the injection points tests use (a DNS querier, the system settings); not part of the public API. */
export function createTestLocator(options: LocatorTestOptions = {}): SipLocator {
  return new LocatorImpl(options);
}

class LocatorImpl implements SipLocator {
  readonly dns: DnsClient | undefined;
  readonly events: EventHub;
  private readonly s: Settings;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly builds: PlanBuilds;
  private readonly cache: PlanCache;
  private readonly saved: SavedPlans;
  private readonly targets: TargetState;
  /** Destinations whose targets were handed out: reports may touch only those (report-guard). */
  private readonly reports: Reports;
  /** tel: (and user=phone) URIs go through ENUM first (RFC 6116). */
  private readonly enums: EnumStep;
  private readonly counts: LocatorCounters = { locates: {}, planHits: 0, planMisses: 0, failovers: 0 };
  private readonly queries: QueryEvents;
  private closed = false;

  constructor(o: LocatorTestOptions) {
    this.clock = o.clock ?? { now: Date.now };
    this.events = new EventHub(() => this.clock.now());
    this.random = o.random ?? Math.random;
    this.s = readSettings(o);
    this.enums = new EnumStep(o, this.clock, this.s.planLimit);
    this.cache = new PlanCache(this.clock, this.s.planLimit);
    // Per-destination state follows the bound the user sets for destinations: cacheSize (and staleBytes for plans).
    this.saved = new SavedPlans(this.clock, this.s.staleMs, this.s.planLimit, this.s.staleBytes, (destination) => this.cache.get(destination) !== undefined);
    this.reports = new Reports(this.clock, this.s.planLimit, {
      isEnum: (uri) => this.enums.handles(uri),
      destinationOf: (uri) => this.cache.parse(uri).destination,
      markReported: (destination, target, failure, shared) => {
        this.counts.failovers++;
        return this.targets.markReported(destination, target, failure, shared);
      },
      next: (state) => this.targets.next(state, this.drawn(state.destination)),
    });
    // Last, as it starts the sweep timer: nothing above may throw after it.
    this.targets = new TargetState(this.clock, this.events, this.s);
    this.queries = new QueryEvents(this.events);
    try {
      const { querier, dns, search } = buildQuerier(o, this.s.addressLookup, (event) => this.queries.queried(event, this.dns));
      this.dns = dns;
      this.builds = new PlanBuilds(this.s, { querier, search, systemLookup: limitLookups(o.system?.lookup ?? osLookup), random: this.random, cache: this.cache, saved: this.saved,
        kept: (record) => this.targets.bus.emit({ op: 'plan', plan: record }), closed: () => this.closed });
    } catch (err) {
      this.targets.close();
      throw err;
    }
  }

  get health(): Health {
    return this.targets.health;
  }

  locate(uri: string, options: LocateOptions = {}): Promise<LocateResult> {
    const located = this.locateAny(uri, options);
    // A traced locate (Try it) is read-only: it is not counted either.
    if (options.trace) return located;
    located.then(() => this.countLocate('ok'), (err: unknown) => this.countLocate(err instanceof SipLocateError ? err.code : 'EINTERNAL'));
    return located;
  }

  private countLocate(result: string): void {
    this.counts.locates[result] = (this.counts.locates[result] ?? 0) + 1;
  }

  private async locateAny(uri: string, options: LocateOptions): Promise<LocateResult> {
    this.open();
    if (!this.enums.handles(uri)) return this.locateSip(uri, options);
    // One query budget for the whole lookup: what ENUM asked is taken from what RFC 3263 may ask.
    const max = this.s.maxQueries;
    return this.builds.deadline(uri, options.signal, this.s.resolveTimeoutMs, () => this.enums.resolve(uri, this.builds.querier, options.trace === true, max).then(async (found) => {
      const left = max - found.queries;
      if (left < 1) throw new SipLocateError('EBUDGET', `The ENUM look-up of ${uri.slice(0, 80)} used all ${max} DNS questions of this resolution (maxQueriesPerLocate); none were left to locate ${found.sipUri.slice(0, 80)}.`, { budget: max });
      return withEnum(uri, found, await this.locateSip(found.sipUri, { trace: options.trace }, left));
    }));
  }

  /** RFC 3263 location of a SIP URI. */
  private async locateSip(uri: string, options: LocateOptions, maxQueries = this.s.maxQueries): Promise<LocateResult> {
    const { uri: parsed, destination } = this.cache.parse(uri);
    const ctx = this.builds.context(options.trace === true, maxQueries);
    if (options.trace) {
      // Read-only: the tree comes from a fresh build, the answer from what a real locate would use; nothing is stored.
      try {
        const built = await this.builds.deadline(uri, options.signal, this.s.resolveTimeoutMs, (signal) => buildPlan(parsed, { ...ctx, signal }));
        const result = this.resultFrom(uri, destination, this.cache.get(destination) ?? built.plan, true);
        if (built.trace) result.trace = built.trace;
        return result;
      } catch (err) {
        const saved = this.saved.fallback(destination, err, true);
        if (!saved) throw err;
        const result = this.resultFrom(uri, destination, this.cache.get(destination) ?? saved.plan, true);
        result.stale = true;
        result.trace = saved.trace;
        return result;
      }
    }
    const cached = this.cache.get(destination);
    if (cached) {
      this.counts.planHits++;
      return this.resultFrom(uri, destination, cached);
    }
    this.counts.planMisses++;
    let plan: Plan;
    try {
      plan = await this.builds.planFor(uri, parsed, destination, ctx, options.signal);
    } catch (err) {
      // No nameserver answered and the DNS client had nothing, not even stale: the last good plan (RFC 8767) routes.
      const saved = this.saved.fallback(destination, err, false);
      if (!saved) throw err;
      this.cache.remember(destination, saved.plan);
      plan = saved.plan;
    }
    return this.resultFrom(uri, destination, plan);
  }

  /** Draws the order from a plan and applies marks and the pin (readOnly: without changing pins); throws ENOADDRESS when nothing is left. */
  private resultFrom(uri: string, destination: string, plan: Plan, readOnly = false): LocateResult {
    const drawn = planTargets(plan, this.s.family, this.random, this.s.maxTargets);
    if (drawn.length === 0) throw new SipLocateError('ENOADDRESS', `No address is left for ${destination} under the family policy ${this.s.family}.`, { destination });
    const { targets, sticky } = this.targets.order(destination, drawn, plan, readOnly);
    if (!readOnly) this.reports.record(destination, plan);
    return { uri, destination, targets, sticky, stale: plan.stale === true };
  }

  locateCached(uri: string): LocateResult | undefined {
    this.open();
    let hit: LocateResult | undefined;
    if (this.enums.handles(uri)) {
      const found = this.enums.cached(uri);
      const located = found && this.locateCachedSip(found.sipUri);
      hit = found && located ? withEnum(uri, found, located) : undefined;
    } else hit = this.locateCachedSip(uri);
    // Answered from the cache: a locate and a plan cache hit, as locate() counts them (a miss falls back to locate()).
    if (hit) {
      this.counts.planHits++;
      this.countLocate('ok');
    }
    return hit;
  }

  private locateCachedSip(uri: string): LocateResult | undefined {
    const { destination } = this.cache.parse(uri);
    const cached = this.cache.get(destination);
    return cached ? this.resultFrom(uri, destination, cached) : undefined;
  }

  async probeTargets(uri: string, signal?: AbortSignal): Promise<readonly Target[]> {
    this.open();
    const { uri: parsed, destination } = this.cache.parse(uri);
    const plan = this.cache.get(destination) ?? (await this.builds.planFor(uri, parsed, destination, this.builds.context(false, this.s.maxQueries), signal));
    return this.cache.probeTargets(plan, this.s.family, this.random, this.s.maxTargets);
  }

  failover(state: FailoverState, failure: Failure): Target | undefined {
    if (state.tried.length > 0) this.counts.failovers++;
    return this.targets.failover(state, failure, this.drawn(state.destination));
  }

  /** The targets drawn from the destination's cached plan (RFC 3263 order), when there is one. */
  private drawn(destination: string): Target[] | undefined {
    const plan = this.cache.get(destination);
    return plan && planTargets(plan, this.s.family, this.random, this.s.maxTargets);
  }

  failoverFrom(uri: string, failed: TargetKey | string, options?: ReportOptions): Promise<ReportResult> {
    return failoverFrom(this, this.reports.sink, uri, failed, options, this.s.numericReportsShared);
  }

  markFailed(target: TargetKey, failure: Failure): void {
    this.targets.markFailed(target, failure);
  }

  markSucceeded(target: TargetKey, destination?: string): void {
    this.targets.markSucceeded(target, destination);
  }

  probed(target: TargetKey & { host?: string }, outcome: ProbeOutcome): void {
    if (!this.closed) this.targets.probed(target, outcome);
  }

  pinnedTarget(destination: string): Target | undefined {
    return this.targets.pinnedTarget(destination);
  }

  held(): { marks: number; pins: number } {
    return this.targets.held();
  }

  state(options?: { orders?: boolean }): LocatorState {
    return this.targets.state(options);
  }

  setTargetState(target: TargetKey, state: AdminState, seconds?: number): AdminRecord {
    this.open();
    return this.targets.setTargetState(target, state, seconds);
  }

  adminStates(): AdminRecord[] {
    return this.targets.adminStates();
  }

  savedPlans(): PlanRecord[] {
    return this.saved.list();
  }

  counters(): LocatorCounters {
    return { ...this.counts, locates: { ...this.counts.locates } };
  }

  onQuery(listener: (event: QueryEvent) => void): () => void {
    return this.queries.onQuery(listener);
  }

  resetState(): void {
    this.targets.resetState();
  }

  onChange(listener: (change: StateChange) => void): () => void {
    return this.targets.bus.onChange(listener);
  }

  apply(change: StateChange): void {
    if (change.op === 'plan') this.saved.keepSaved(change.plan);
    else this.targets.apply(change);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.targets.close();
    this.events.clear();
    this.queries.clear();
    this.cache.clear();
    this.saved.clear();
    this.reports.clear();
    this.enums.clear();
    this.dns?.close();
  }

  /** Throws ECLOSED once the locator is closed. */
  private open(): void {
    if (this.closed) throw new SipLocateError('ECLOSED', 'The locator is closed.');
  }
}
