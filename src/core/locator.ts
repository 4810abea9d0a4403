/**
 * The locator façade: locate() and its relatives over the parts that do the work, one job each:
 * locator/options.ts (settings), locator/querier.ts (DNS), locator/plan-cache.ts (plans, shared builds),
 * locator/plan-builds.ts (a destination's plan), locator/saved-plans.ts (last good plans), locator/set-locate.ts
 * (destination sets), locator/reports.ts (hand-outs, proxy reports), failover/target-state.ts (marks, pins,
 * operator states, health, the one order).
 */
import { EnumStep, withEnum } from './enum/step';
import { EventHub } from './events';
import type { DnsClient, QueryEvent } from './dns/types';
import { SipLocateError } from './errors';
import { setNameOf } from './sets';
import { failoverFrom } from './failover/from-report';
import type { Health, ProbeOutcome } from './failover/health';
import { TargetState } from './failover/target-state';
import { limitLookups } from './system/lookup-limit';
import { osLookup } from './system/lookup';
import type {
  AdminRecord,
  AdminState,
  Clock,
  FailoverState,
  Failure,
  LocateOptions,
  LocateResult,
  LocatorState,
  PlanRecord,
  ReportOptions,
  ReportResult,
  StateChange,
  Target,
  TargetKey,
} from './types';
import { readSettings, type CreateLocatorOptions, type LocatorTestOptions, type Settings } from './locator/options';
import { buildQuerier, QueryEvents } from './locator/querier';
import { PlanCache } from './locator/plan-cache';
import { PlanBuilds } from './locator/plan-builds';
import { SavedPlans } from './locator/saved-plans';
import { SetLocate } from './locator/set-locate';
import { Reports } from './locator/reports';
import { Results } from './locator/results';
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
  private readonly cache: PlanCache;
  private readonly builds: PlanBuilds;
  private readonly saved: SavedPlans;
  private readonly sets: SetLocate;
  private readonly targets: TargetState;
  /** Destinations whose targets were handed out: reports may touch only those (report-guard). */
  private readonly reports: Reports;
  private readonly results: Results;
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
    this.saved = new SavedPlans(
      this.clock,
      this.s.staleMs,
      this.s.planLimit,
      this.s.staleBytes,
      (destination) => this.cache.get(destination) !== undefined,
    );
    this.reports = new Reports(this.clock, this.s.planLimit, {
      isEnum: (uri) => this.enums.handles(uri),
      destinationOf: (uri) => this.cache.parse(uri).destination,
      markReported: (destination, target, failure, shared) => {
        this.counts.failovers++;
        return this.targets.markReported(destination, target, failure, shared);
      },
      next: (state) => {
        const { keyed, drawn } = this.results.failoverInput(state);
        return this.targets.next(keyed, drawn);
      },
    });
    this.results = new Results({
      s: this.s,
      random: this.random,
      cache: this.cache,
      targets: () => this.targets,
      reports: this.reports,
    });
    // Last, as it starts the sweep timer: nothing above may throw after it.
    this.targets = new TargetState(this.clock, this.events, this.s);
    this.queries = new QueryEvents(this.events);
    try {
      const { querier, dns, search } = buildQuerier(o, this.s.addressLookup, (event) =>
        this.queries.queried(event, this.dns),
      );
      this.dns = dns;
      this.builds = new PlanBuilds(this.s, {
        querier,
        search,
        systemLookup: limitLookups(o.system?.lookup ?? osLookup),
        random: this.random,
        cache: this.cache,
        saved: this.saved,
        enums: this.enums,
        counted: (hit) => (hit ? this.counts.planHits++ : this.counts.planMisses++),
        kept: (record) => this.targets.bus.emit({ op: 'plan', plan: record }),
        closed: () => this.closed,
      });
    } catch (err) {
      this.targets.close();
      throw err;
    }
    this.sets = new SetLocate({
      s: this.s,
      random: this.random,
      builds: this.builds,
      enums: this.enums,
      result: (uri, destination, plan, readOnly, key, drawn, trace) =>
        this.results.from(uri, destination, plan, readOnly, key, drawn, trace),
      probeTargets: (uri, signal) => this.probeTargets(uri, signal),
    });
  }

  get health(): Health {
    return this.targets.health;
  }

  locate(uri: string, options: LocateOptions = {}): Promise<LocateResult> {
    const located = this.locateAny(uri, options);
    // A traced locate (Try it) is read-only: it is not counted either.
    if (options.trace) return located;
    located.then(
      () => this.countLocate('ok'),
      (err: unknown) => this.countLocate(err instanceof SipLocateError ? err.code : 'EINTERNAL'),
    );
    return located;
  }

  private countLocate(result: string): void {
    this.counts.locates[result] = (this.counts.locates[result] ?? 0) + 1;
  }

  private async locateAny(uri: string, options: LocateOptions): Promise<LocateResult> {
    this.open();
    const key = this.results.keyOf(options.key, 'EINVALIDOPTION');
    const set = setNameOf(uri);
    if (set !== undefined) return this.sets.locate(set, options, key);
    const p = await this.builds.planOf(uri, options);
    const result = this.results.from(p.uri, p.destination, p.plan, options.trace === true, key, undefined, p.trace);
    if (p.stale) result.stale = true;
    return p.found ? withEnum(uri, p.found, result) : result;
  }

  locateCached(uri: string, options: { key?: string } = {}): LocateResult | undefined {
    this.open();
    const key = this.results.keyOf(options.key, 'EINVALIDOPTION');
    const set = setNameOf(uri);
    const hit = set !== undefined ? this.sets.cached(set, key) : this.cachedSip(uri, key);
    // Answered from the cache: a locate and a plan cache hit, as locate() counts them (a miss falls back to locate()).
    if (hit) {
      this.counts.planHits++;
      this.countLocate('ok');
    }
    return hit;
  }

  /** A SIP (or tel:) URI's answer when its plan (and ENUM step) is cached and fresh. */
  private cachedSip(uri: string, key: string | undefined): LocateResult | undefined {
    const p = this.builds.cachedPlanOf(uri);
    if (!p) return undefined;
    const result = this.results.from(p.uri, p.destination, p.plan, false, key);
    return p.found ? withEnum(uri, p.found, result) : result;
  }

  async probeTargets(uri: string, signal?: AbortSignal): Promise<readonly Target[]> {
    this.open();
    const set = setNameOf(uri);
    if (set !== undefined) return this.sets.probe(set, signal);
    const { uri: parsed, destination } = this.cache.parse(uri);
    const plan =
      this.cache.get(destination) ??
      (await this.builds.planFor(uri, parsed, destination, this.builds.context(false, this.s.maxQueries), signal));
    return this.cache.probeTargets(plan, this.s.family, this.random, this.s.maxTargets);
  }

  failover(state: FailoverState, failure: Failure): Target | undefined {
    const { keyed, drawn } = this.results.failoverInput(state);
    if (state.tried.length > 0) this.counts.failovers++;
    return this.targets.failover(keyed, failure, drawn);
  }

  failoverFrom(uri: string, failed: TargetKey | string, options?: ReportOptions): Promise<ReportResult> {
    return failoverFrom(this, this.reports.sink, uri, failed, options, this.s.numericReportsShared);
  }

  markFailed(target: TargetKey, failure: Failure): void {
    this.targets.markFailed(target, failure);
  }

  markSucceeded(target: TargetKey, destination?: string, key?: string): void {
    this.targets.markSucceeded(target, destination, this.results.keyOf(key, 'EINVALIDMSG'));
  }

  probed(target: TargetKey & { host?: string }, outcome: ProbeOutcome): void {
    if (!this.closed) this.targets.probed(target, outcome);
  }

  pinnedTarget(destination: string, key?: string): Target | undefined {
    return this.targets.pinnedTarget(destination, this.results.keyOf(key, 'EINVALIDOPTION'));
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
