/**
 * The locator façade: locate() and its relatives over the parts that do the work, one job each:
 * locator/options.ts (settings), locator/querier.ts (DNS), locator/plan-cache.ts (plans, shared builds),
 * locator/saved-plans.ts (last good plans), failover/target-state.ts (marks, pins, operator states, health, order).
 */
import { withDeadline } from './deadline';
import { EnumStep, withEnum, type EnumOutcome } from './enum/step';
import { EventHub } from './events';
import type { DnsClient, DnsQuerier, QueryEvent } from './dns/types';
import { SipLocateError, unexpected } from './errors';
import { checkAffinityKey } from './rfc3263/affinity';
import { joinMembers, orderMembers, setNameOf, SET_PREFIX, type Member, type MemberDraw, type SetDraw } from './sets';
import { choiceNote } from './choice';
import { failoverFrom, type ReportSink } from './failover/from-report';
import { HandedOut, MIN_HANDED_OUT } from './failover/report-guard';
import type { Health, ProbeOutcome } from './failover/health';
import { TargetState } from './failover/target-state';
import { limitLookups } from './system/lookup-limit';
import { osLookup, type SystemLookup } from './system/lookup';
import type { SearchSettings } from './system/search';
import { buildPlan, type PlanContext } from './rfc3263/locate';
import { planTargets, type Plan } from './rfc3263/plan';
import type {
  AdminRecord, AdminState, Clock, FailoverState, Failure, LocateOptions, LocateResult, LocatorState, PlanRecord,
  ReportOptions, ReportResult, SipUri, StateChange, Target, TargetKey, TraceNode,
} from './types';
import { readSettings, type CreateLocatorOptions, type LocatorTestOptions, type Settings } from './locator/options';
import { buildQuerier, QueryEvents } from './locator/querier';
import { PlanCache } from './locator/plan-cache';
import { SavedPlans } from './locator/saved-plans';
import type { LocatorCounters, SipLocator } from './locator/api';

export type { CreateLocatorOptions, LocatorTestOptions } from './locator/options';
export type { LocatorCounters, SipLocator } from './locator/api';
export { LOCATOR_OPTIONS, LOCATOR_CHOICES } from './locator/options';

/** A URI's plan as locate() found it, before the draw: from cache, a build or the last good plan; tel: through ENUM. */
interface Planned {
  /** The SIP URI located (for tel:, the one ENUM gave). */
  uri: string;
  destination: string;
  plan: Plan;
  /** True when DNS gave no answer and the last good plan was used. */
  stale: boolean;
  trace?: TraceNode;
  /** The ENUM step of a tel: URI. */
  found?: EnumOutcome;
}

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
  private readonly querier: DnsQuerier;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly systemLookup: SystemLookup;
  /** The system's search list, when the system settings are in use. */
  private readonly search: SearchSettings | undefined;
  private readonly cache: PlanCache;
  private readonly saved: SavedPlans;
  private readonly targets: TargetState;
  /** Destinations whose targets were handed out: reports may touch only those (report-guard). */
  private readonly handedOut: HandedOut;
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
    this.handedOut = new HandedOut(this.clock, Math.max(this.s.planLimit, MIN_HANDED_OUT));
    // Last, as it starts the sweep timer: nothing above may throw after it.
    this.targets = new TargetState(this.clock, this.events, this.s);
    this.systemLookup = limitLookups(o.system?.lookup ?? osLookup);
    this.queries = new QueryEvents(this.events);
    try {
      ({ querier: this.querier, dns: this.dns, search: this.search } = buildQuerier(o, this.s.addressLookup, (event) => this.queries.queried(event, this.dns)));
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

  /** The affinity key in force for a call: checked (a bad one throws `code`), undefined with affinity "destination". */
  private keyOf(key: unknown, code: 'EINVALIDOPTION' | 'EINVALIDMSG'): string | undefined {
    const checked = checkAffinityKey(key, code);
    return this.s.keyed ? checked : undefined;
  }

  private async locateAny(uri: string, options: LocateOptions): Promise<LocateResult> {
    this.open();
    const key = this.keyOf(options.key, 'EINVALIDOPTION');
    const set = setNameOf(uri);
    if (set !== undefined) return this.locateSet(set, options, key);
    const p = await this.planOf(uri, options);
    const result = this.resultFrom(p.uri, p.destination, p.plan, options.trace === true, key, undefined, p.trace);
    if (p.stale) result.stale = true;
    return p.found ? withEnum(uri, p.found, result) : result;
  }

  /** The plan of a SIP URI, or of a tel: URI through ENUM (one query budget for both), with its trace when asked. */
  private planOf(uri: string, options: LocateOptions): Promise<Planned> {
    if (!this.enums.handles(uri)) return this.planOfSip(uri, options);
    // One query budget for the whole lookup: what ENUM asked is taken from what RFC 3263 may ask.
    const max = this.s.maxQueries;
    return this.deadline(uri, options.signal, this.s.resolveTimeoutMs, () => this.enums.resolve(uri, this.querier, options.trace === true, max).then(async (found): Promise<Planned> => {
      const left = max - found.queries;
      if (left < 1) throw new SipLocateError('EBUDGET', `The ENUM look-up of ${uri.slice(0, 80)} used all ${max} DNS questions of this resolution (maxQueriesPerLocate); none were left to locate ${found.sipUri.slice(0, 80)}.`, { budget: max });
      return { ...(await this.planOfSip(found.sipUri, { trace: options.trace }, left)), found };
    }));
  }

  /** RFC 3263 plan of a SIP URI: cached, built, or (DNS gave no answer) the last good one; with its trace when asked. */
  private async planOfSip(uri: string, options: LocateOptions, maxQueries = this.s.maxQueries): Promise<Planned> {
    const { uri: parsed, destination } = this.cache.parse(uri);
    const ctx = this.planContext(options.trace === true, maxQueries);
    if (options.trace) {
      // Read-only: the tree comes from a fresh build, the answer from what a real locate would use; nothing is stored.
      try {
        const built = await this.deadline(uri, options.signal, this.s.resolveTimeoutMs, (signal) => buildPlan(parsed, { ...ctx, signal }));
        return { uri, destination, plan: this.cache.get(destination) ?? built.plan, stale: false, trace: built.trace };
      } catch (err) {
        const saved = this.saved.fallback(destination, err, true);
        if (!saved) throw err;
        return { uri, destination, plan: this.cache.get(destination) ?? saved.plan, stale: true, trace: saved.trace };
      }
    }
    const cached = this.cache.get(destination);
    if (cached) {
      this.counts.planHits++;
      return { uri, destination, plan: cached, stale: false };
    }
    this.counts.planMisses++;
    let plan: Plan;
    try {
      plan = await this.planFor(uri, parsed, destination, ctx, options.signal);
    } catch (err) {
      // No nameserver answered and the DNS client had nothing, not even stale: the last good plan (RFC 8767) routes.
      const saved = this.saved.fallback(destination, err, false);
      if (!saved) throw err;
      this.cache.remember(destination, saved.plan);
      plan = saved.plan;
    }
    return { uri, destination, plan, stale: false };
  }

  /** A member of a set located: its plan drawn in its own RFC 3263 order (keyed when a key is given). */
  private memberDraw(memberUri: string, p: Planned, key: string | undefined): MemberDraw {
    const drawn = planTargets(p.plan, this.s.family, this.random, this.s.maxTargets, key);
    const result: MemberDraw = { destination: p.destination, plan: p.plan, drawn, stale: p.stale || p.plan.stale === true };
    const trace = p.found && p.trace ? withEnum(memberUri, p.found, { uri: p.uri, destination: p.destination, targets: drawn, sticky: false, stale: result.stale, trace: p.trace }).trace : p.trace;
    if (trace) result.trace = trace;
    return result;
  }

  /** Locates a destination set: every member at once, joined in set order, then the one order and the set's pin. */
  private async locateSet(name: string, options: LocateOptions, key: string | undefined): Promise<LocateResult> {
    const members = this.s.sets.get(name);
    if (!members) throw new SipLocateError('EINVALIDURI', `There is no destination set named "${name.slice(0, 64)}"; this resolver's sets are: ${[...this.s.sets.keys()].slice(0, 20).join(', ') || 'none'}.`, { set: name.slice(0, 64) });
    const ordered = orderMembers(members, key === undefined ? { random: this.random } : { random: this.random, key });
    const outcomes = await Promise.all(ordered.map((member) => this.planOf(member.uri, { trace: options.trace, signal: options.signal }).then(
      (p) => ({ member, result: this.memberDraw(member.uri, p, key) }),
      (err: unknown) => ({ member, error: unexpected(err) }),
    )));
    if (options.signal?.aborted) throw new SipLocateError('ECANCELLED', `Locating ${SET_PREFIX}${name} was cancelled.`, { uri: `${SET_PREFIX}${name}` });
    return this.setResult(name, joinMembers(name, outcomes, this.s.maxTargets, options.trace === true), options.trace === true, key);
  }

  /** The result of a set from its joined members. */
  private setResult(name: string, set: SetDraw, readOnly: boolean, key: string | undefined): LocateResult {
    const destination = `${SET_PREFIX}${name}`;
    const result = this.resultFrom(destination, destination, set.plan, readOnly, key, set.drawn, set.trace);
    result.members = set.members;
    if (set.stale) result.stale = true;
    return result;
  }

  /** What building a plan needs from this locator's settings. */
  private planContext(trace: boolean, maxQueries: number): PlanContext {
    const s = this.s;
    return { querier: this.querier, transports: s.transports, family: s.family, naptrNoMatch: s.naptrNoMatch, trace, maxQueries,
      search: this.search, addressLookup: s.addressLookup, systemTtl: s.systemTtl, systemLookup: this.systemLookup, random: this.random };
  }

  /**
   * The destination's plan from a build shared by every caller for it: the build holds the one timer (resolveTimeoutMs);
   * a caller's signal only stops that caller waiting.
   */
  private planFor(uri: string, parsed: SipUri, destination: string, ctx: PlanContext, signal: AbortSignal | undefined): Promise<Plan> {
    const build = this.cache.shared(destination, () => this.deadline(uri, undefined, this.s.resolveTimeoutMs, (stop) => buildPlan(parsed, { ...ctx, signal: stop })).then((built) => {
      this.cache.remember(destination, built.plan);
      const record = this.closed ? undefined : this.saved.keepGood(destination, built.plan);
      if (record) this.targets.bus.emit({ op: 'plan', plan: record });
      return built.plan;
    }));
    return signal ? this.deadline(uri, signal, Infinity, () => build) : build;
  }

  /** Runs work under the one deadline helper: ETIMEOUT after `ms`, ECANCELLED when `signal` aborts. */
  private deadline<T>(uri: string, signal: AbortSignal | undefined, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withDeadline(work, {
      ms,
      signal,
      timeout: () => new SipLocateError('ETIMEOUT', `Locating ${uri} took longer than ${this.s.resolveTimeoutMs} ms.`, { uri }),
      cancelled: () => new SipLocateError('ECANCELLED', `Locating ${uri} was cancelled.`, { uri }),
    });
  }

  /** Draws the order from a plan and applies marks and the pin (readOnly: without changing pins); throws ENOADDRESS when nothing is left. */
  private resultFrom(uri: string, destination: string, plan: Plan, readOnly = false, key?: string, given?: Target[], trace?: TraceNode): LocateResult {
    // With an affinity key the draw is rendezvous hashing of (key, host:port); a set's members were drawn already.
    const drawn = given ?? planTargets(plan, this.s.family, this.random, this.s.maxTargets, key);
    if (drawn.length === 0) throw new SipLocateError('ENOADDRESS', `No address is left for ${destination} under the family policy ${this.s.family}.`, { destination });
    const { targets, sticky, order } = this.targets.order(destination, drawn, plan, readOnly, key);
    if (!readOnly) this.handedOut.record(destination, plan);
    const result: LocateResult = { uri, destination, targets, sticky, stale: plan.stale === true };
    if (key !== undefined) result.affinityKey = key;
    // Try it and --trace say why targets[0] was chosen: hash rank, pin, or failover past marked servers.
    if (trace) result.trace = { ...trace, children: [...trace.children, choiceNote(destination, drawn, order, key)] };
    return result;
  }

  locateCached(uri: string, options: { key?: string } = {}): LocateResult | undefined {
    this.open();
    const key = this.keyOf(options.key, 'EINVALIDOPTION');
    const set = setNameOf(uri);
    const hit = set !== undefined ? this.cachedSet(set, key) : this.cachedSip(uri, key);
    // Answered from the cache: a locate and a plan cache hit, as locate() counts them (a miss falls back to locate()).
    if (hit) {
      this.counts.planHits++;
      this.countLocate('ok');
    }
    return hit;
  }

  /** A SIP (or tel:) URI's answer when its plan (and ENUM step) is cached and fresh. */
  private cachedSip(uri: string, key: string | undefined): LocateResult | undefined {
    const p = this.cachedPlanOf(uri);
    if (!p) return undefined;
    const result = this.resultFrom(p.uri, p.destination, p.plan, false, key);
    return p.found ? withEnum(uri, p.found, result) : result;
  }

  /** A URI's plan when its DNS data (and ENUM step) is cached and fresh. */
  private cachedPlanOf(uri: string): Planned | undefined {
    if (this.enums.handles(uri)) {
      const found = this.enums.cached(uri);
      const p = found && this.cachedPlanOf(found.sipUri);
      return found && p ? { ...p, found } : undefined;
    }
    const { destination } = this.cache.parse(uri);
    const plan = this.cache.get(destination);
    return plan ? { uri, destination, plan, stale: false } : undefined;
  }

  /** A set's answer when every member's plan is cached and fresh, else undefined. */
  private cachedSet(name: string, key: string | undefined): LocateResult | undefined {
    const members = this.s.sets.get(name);
    if (!members) return undefined;
    const outcomes: Array<{ member: Member; result: MemberDraw }> = [];
    for (const member of orderMembers(members, key === undefined ? { random: this.random } : { random: this.random, key })) {
      const p = this.cachedPlanOf(member.uri);
      if (!p) return undefined;
      outcomes.push({ member, result: this.memberDraw(member.uri, p, key) });
    }
    return this.setResult(name, joinMembers(name, outcomes, this.s.maxTargets, false), false, key);
  }

  async probeTargets(uri: string, signal?: AbortSignal): Promise<readonly Target[]> {
    this.open();
    const set = setNameOf(uri);
    if (set !== undefined) return this.probeSet(set, signal);
    const { uri: parsed, destination } = this.cache.parse(uri);
    const plan = this.cache.get(destination) ?? (await this.planFor(uri, parsed, destination, this.planContext(false, this.s.maxQueries), signal));
    return this.cache.probeTargets(plan, this.s.family, this.random, this.s.maxTargets);
  }

  /** Every target of a set's SIP members (a member that fails to resolve gives none), duplicates removed, at most maxTargets. */
  private async probeSet(name: string, signal?: AbortSignal): Promise<readonly Target[]> {
    const members = this.s.sets.get(name);
    if (!members) throw new SipLocateError('EINVALIDURI', `There is no destination set named "${name.slice(0, 64)}".`, { set: name.slice(0, 64) });
    const lists = await Promise.all(members.map((m) => (this.enums.handles(m.uri) ? Promise.resolve([]) : this.probeTargets(m.uri, signal).catch((): readonly Target[] => []))));
    const seen = new Set<string>();
    const out: Target[] = [];
    for (const t of lists.flat()) {
      if (out.length >= this.s.maxTargets || seen.has(t.key)) continue;
      seen.add(t.key);
      out.push(t);
    }
    return Object.freeze(out);
  }

  failover(state: FailoverState, failure: Failure): Target | undefined {
    const { keyed, drawn } = this.failoverInput(state);
    if (state.tried.length > 0) this.counts.failovers++;
    return this.targets.failover(keyed, failure, drawn);
  }

  /** The failover state with its key checked, and a fresh draw of the destination's cached plan (for ties). */
  private failoverInput(state: FailoverState): { keyed: FailoverState; drawn: Target[] | undefined } {
    const key = this.keyOf(state.key, 'EINVALIDMSG');
    const plan = this.cache.get(state.destination);
    const keyed: FailoverState = key === undefined ? { destination: state.destination, targets: state.targets, tried: state.tried } : { ...state, key };
    return { keyed, drawn: plan && planTargets(plan, this.s.family, this.random, this.s.maxTargets, key) };
  }

  failoverFrom(uri: string, failed: TargetKey | string, options?: ReportOptions): Promise<ReportResult> {
    return failoverFrom(this, this.reportSink, uri, failed, options, this.s.numericReportsShared);
  }

  /** What failoverFrom() may do beyond the public interface: check hand-outs and mark within the report bounds. */
  private readonly reportSink: ReportSink = {
    sequence: () => this.handedOut.sequence(),
    recent: (uri) => {
      if (this.enums.handles(uri)) return true;
      try {
        return this.handedOut.recent(this.cache.parse(uri).destination);
      } catch {
        return true; // the report's locate rejects the URI with its own error
      }
    },
    handedOut: (destination, target, before) => this.handedOut.covers(destination, target, before),
    markReported: (destination, target, failure, shared) => {
      this.counts.failovers++;
      return this.targets.markReported(destination, target, failure, shared);
    },
    next: (state) => {
      const { keyed, drawn } = this.failoverInput(state);
      return this.targets.next(keyed, drawn);
    },
  };

  markFailed(target: TargetKey, failure: Failure): void {
    this.targets.markFailed(target, failure);
  }

  markSucceeded(target: TargetKey, destination?: string, key?: string): void {
    this.targets.markSucceeded(target, destination, this.keyOf(key, 'EINVALIDMSG'));
  }

  probed(target: TargetKey & { host?: string }, outcome: ProbeOutcome): void {
    if (!this.closed) this.targets.probed(target, outcome);
  }

  pinnedTarget(destination: string, key?: string): Target | undefined {
    return this.targets.pinnedTarget(destination, this.keyOf(key, 'EINVALIDOPTION'));
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
    this.handedOut.clear();
    this.enums.clear();
    this.dns?.close();
  }

  /** Throws ECLOSED once the locator is closed. */
  private open(): void {
    if (this.closed) throw new SipLocateError('ECLOSED', 'The locator is closed.');
  }
}
