import { isIP } from 'node:net';
import { createDnsClient } from './dns/client';
import { ADDRESS_LOOKUPS, osLookup, type AddressLookup, type SystemLookup } from './system/lookup';
import { limitLookups } from './system/lookup-limit';
import { noDnsQuerier } from './system/no-dns';
import type { SearchSettings } from './system/search';
import { loadSystemSettings, type SystemSources } from './system/settings';
import { withStaticRecords } from './system/static-querier';
import { parseStaticRecords } from './system/static-records';
import { EnumStep, withEnum } from './enum/step';
import { DEFAULT_STALE_BYTES, SavedPlans } from './saved-plans';
import { EventHub } from './events';
import type { DnsClient, DnsQuerier, QueryEvent } from './dns/types';
import { SipLocateError } from './errors';
import { Marks, targetKeyOf, type Mark } from './failover/marks';
import { AdminStates, isAdminState, MAX_ADMIN_SECONDS } from './failover/admin';
import { Pins, type Pin } from './failover/pins';
import { failoverFrom, type ReportSink } from './failover/from-report';
import { HandedOut, MAX_REPORT_MARKS, MIN_HANDED_OUT, ReportMarks, strongerMark } from './failover/report-guard';
import { Health, type ProbeOutcome } from './failover/health';
import { rankIn } from './failover/ranks';
import { withAddressing } from './target-address';
import { buildPlan, type PlanContext } from './rfc3263/locate';
import { planTargets, type Plan } from './rfc3263/plan';
import { planFromRecord, planToRecord, samePlan } from './rfc3263/plan-record';
import { isTransport } from './rfc3263/transports';
import type { AdminRecord, AdminState, Clock, FailoverState, Failure, FamilyPolicy, LocateOptions, LocateResult, Locator, LocatorOptions, LocatorState, PlanRecord, ReportOptions, ReportResult, StateChange, Target, TargetKey, TraceNode, Transport } from './types';
import { destinationKey, parseSipUri } from './uri';

const FAMILIES: readonly FamilyPolicy[] = ['ipv4', 'ipv6', 'ipv4-first', 'ipv6-first'];
const REASONS: readonly string[] = ['transport', 'timeout', '503'];
/** How far past its own expiry a record may be dropped when a store reports it expired (clock skew between hosts), ms. */
const EXPIRY_SKEW_MS = 2000;
/** How often expired marks and pins are swept out, ms; they are freed within this long of expiring. */
const SWEEP_INTERVAL_MS = 5000;
/** Most entries one sweep step frees before it yields to the event loop. */
const SWEEP_STEP = 10_000;
/** A destination's unchanged last good plan is reported to stores at most this often, ms. */
const PLAN_WRITE_INTERVAL_MS = 60_000;
/** Failures after which a destination is located from its last good plan: DNS gave no answer (NXDOMAIN and NODATA are answers). */
const OUTAGE_CODES: ReadonlySet<string> = new Set(['ETIMEOUT', 'ESERVFAIL', 'EREFUSED', 'ECONNREFUSED', 'ENOTIMP', 'EFORMERR', 'EBADRESP', 'EOVERLOAD']);

/** A destination's last plan built from fresh DNS data (or read back from a store), and when it was last reported. */
interface SavedPlan {
  record: PlanRecord;
  /** Rebuilt from the record when first needed. */
  plan?: Plan;
  reportedAt: number;
  /** Built here from fresh DNS data (not read from a store). */
  local: boolean;
}

/** Options of createLocator(), plus an injectable DNS querier for tests. */
export interface CreateLocatorOptions extends LocatorOptions {
  /** Use this querier instead of a new DNS client (the locator then does not close it). */
  querier?: DnsQuerier;
  /** Where the system settings come from when no nameservers are given, and the OS resolver (for tests). */
  system?: SystemSources & { lookup?: SystemLookup };
}

/** A Locator that also exposes its DNS client's counters. */
export interface SipLocator extends Locator {
  /** The DNS client (undefined when a querier was injected). */
  readonly dns: DnsClient | undefined;
  /** How many marks and pins are held in memory, expired ones not yet swept out included. */
  held(): { marks: number; pins: number };
  /** The last good plan of each recently located destination (empty with staleSeconds 0). */
  savedPlans(): PlanRecord[];
  /** Operational events (marks, pins, health, operator actions, store and nameserver state) for the sip-events node and metrics. */
  readonly events: EventHub;
  /** Sets an operator state of one target (drain, disable, enable), for `seconds` or until changed; throws EINVALIDOPTION. */
  setTargetState(target: TargetKey, state: AdminState, seconds?: number): AdminRecord;
  /** Operator states in force (drain, disable), sorted by target. */
  adminStates(): AdminRecord[];
  /** Counters since creation, for metrics: locates by result, plan cache hits and misses, failovers. */
  counters(): LocatorCounters;
  /** Calls listener after each finished DNS query of the locator's own client; returns a function that stops it. */
  onQuery(listener: (event: QueryEvent) => void): () => void;
  /** What scheduled probing believes about each target (a down target is skipped like a black mark). */
  readonly health: Health;
  /** Counts one probe of a target: success clears a grey mark; a change to up or down is an event, down also unpins. */
  probed(target: TargetKey & { host?: string }, outcome: ProbeOutcome): void;
  /**
   * Every target a SIP URI yields now, without marks, pins or health applied (for probing); rejects like locate().
   * While the DNS data behind it is unchanged, the same (shared, read-only) array comes back.
   */
  probeTargets(uri: string, signal?: AbortSignal): Promise<readonly Target[]>;
}

/** What a locator has counted since it was created. */
export interface LocatorCounters {
  /** Finished locate() calls by result: 'ok' or an error code. */
  locates: Record<string, number>;
  planHits: number;
  planMisses: number;
  /** failover() calls that moved on from a failed target. */
  failovers: number;
}

function numberOption(value: unknown, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new SipLocateError('EINVALIDOPTION', `The option ${name} must be a number from ${min} to ${max}.`, { option: name });
  }
  return value;
}

function transportsOption(value: unknown): Transport[] {
  if (value === undefined) return ['udp', 'tcp', 'tls'];
  if (!Array.isArray(value) || value.length === 0) throw new SipLocateError('EINVALIDOPTION', 'The option transports must list at least one transport (udp, tcp, tls, sctp, ws, wss).');
  const out: Transport[] = [];
  for (const t of value) {
    const name = String(t).trim().toLowerCase();
    if (!isTransport(name)) throw new SipLocateError('EINVALIDOPTION', `"${String(t).slice(0, 20)}" is not a transport; use udp, tcp, tls, sctp, ws or wss.`, { option: 'transports' });
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** Creates a locator; throws EINVALIDOPTION, EINVALIDNAMESERVER or ENONAMESERVER for bad options. */
export function createLocator(options: CreateLocatorOptions = {}): SipLocator {
  return new LocatorImpl(options);
}

/** The transport, address and port of a target, nothing more. */
function keyOnly(t: TargetKey): TargetKey {
  return { transport: t.transport, address: t.address, port: t.port };
}

/** Fills the fields a bare TargetKey lacks so it can be shown as a pin. */
function asTarget(t: TargetKey): Target {
  const full = t as Partial<Target>;
  return withAddressing({
    transport: t.transport,
    address: t.address,
    port: t.port,
    family: full.family ?? (isIP(t.address) === 6 ? 6 : 4),
    host: full.host ?? t.address,
    source: full.source ?? 'address',
    ttl: full.ttl ?? 0,
  });
}

class LocatorImpl implements SipLocator {
  readonly dns: DnsClient | undefined;
  readonly events: EventHub;
  readonly health: Health;
  private readonly failback: boolean;
  private readonly querier: DnsQuerier;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly transports: Transport[];
  private readonly family: FamilyPolicy;
  private readonly sticky: boolean;
  private readonly naptrNoMatch: 'fail' | 'fallback';
  private readonly maxTargets: number;
  private readonly maxQueries: number;
  private readonly addressLookup: AddressLookup;
  private readonly systemTtl: number;
  private readonly systemLookup: SystemLookup;
  /** The system's search list, when the system settings are in use. */
  private readonly search: SearchSettings | undefined;
  private readonly resolveTimeoutMs: number;
  private readonly planLimit: number;
  private readonly plans = new Map<string, { plan: Plan; expiresAt: number }>();
  /** The targets probeTargets() drew from a plan, kept as long as the plan is (weakly). */
  private readonly probeSets = new WeakMap<Plan, readonly Target[]>();
  /** Last good plans by destination, LRU, at most cacheSize of them and staleBytes in all: kept by stores, used when DNS cannot answer. */
  private readonly saved: SavedPlans<SavedPlan>;
  /** How long a last good plan is kept, ms (staleSeconds; 0: not kept). */
  private readonly staleMs: number;
  private readonly marks: Marks;
  /** Destinations whose targets were handed out (reports may touch only those), and marks reports made for one destination. */
  private readonly handedOut: HandedOut;
  private readonly reportMarks: ReportMarks;
  private readonly numericReportsShared: boolean;
  /** Operator states (drain, disable). */
  private readonly admin: AdminStates;
  private readonly counts: LocatorCounters = { locates: {}, planHits: 0, planMisses: 0, failovers: 0 };
  private readonly queryListeners = new Set<(event: QueryEvent) => void>();
  /** Last seen state of each nameserver, to turn changes into nameserver-down/up events. */
  private readonly nsStates = new Map<string, string>();
  /** Parsed URIs and their destination keys, so a warm locate() does not parse again (bounded). */
  private readonly parsed = new Map<string, { uri: ReturnType<typeof parseSipUri>; destination: string }>();
  private readonly pins: Pins;
  private readonly listeners = new Set<(change: StateChange) => void>();
  /** Plans being built, by destination. */
  private readonly building = new Map<string, Promise<Plan>>();
  /** tel: (and user=phone) URIs go through ENUM first (RFC 6116). */
  private readonly enums: EnumStep;
  private readonly sweepTimer: NodeJS.Timeout;
  /** True while apply() runs: what a change from elsewhere evicts is not reported back. */
  private applying = false;
  private closed = false;

  constructor(o: CreateLocatorOptions) {
    this.clock = o.clock ?? { now: Date.now };
    this.events = new EventHub(() => this.clock.now());
    this.random = o.random ?? Math.random;
    this.transports = transportsOption(o.transports);
    if (o.family !== undefined && !FAMILIES.includes(o.family)) throw new SipLocateError('EINVALIDOPTION', `The option family must be one of ${FAMILIES.join(', ')}.`, { option: 'family' });
    this.family = o.family ?? 'ipv4-first';
    this.sticky = o.sticky === true;
    if (o.pinPolicy !== undefined && o.pinPolicy !== 'sticky' && o.pinPolicy !== 'failback') throw new SipLocateError('EINVALIDOPTION', 'The option pinPolicy must be "sticky" or "failback".', { option: 'pinPolicy' });
    this.failback = o.pinPolicy === 'failback';
    this.health = new Health(this.clock);
    if (o.naptrNoMatch !== undefined && o.naptrNoMatch !== 'fail' && o.naptrNoMatch !== 'fallback') throw new SipLocateError('EINVALIDOPTION', 'The option naptrNoMatch must be "fail" or "fallback".', { option: 'naptrNoMatch' });
    this.naptrNoMatch = o.naptrNoMatch ?? 'fail';
    this.maxTargets = Math.floor(numberOption(o.maxTargets, 32, 1, 1024, 'maxTargets'));
    this.maxQueries = Math.floor(numberOption(o.maxQueriesPerLocate, 64, 1, 10000, 'maxQueriesPerLocate'));
    this.resolveTimeoutMs = numberOption(o.resolveTimeoutMs, 10000, 1, 600000, 'resolveTimeoutMs');
    this.planLimit = Math.floor(numberOption(o.cacheSize, 10000, 0, 10_000_000, 'cacheSize'));
    const maxPins = Math.floor(numberOption(o.maxPins, 100_000, 1, 10_000_000, 'maxPins'));
    const maxMarks = Math.floor(numberOption(o.maxMarks, 100_000, 1, 10_000_000, 'maxMarks'));
    this.staleMs = numberOption(o.staleSeconds, 86400, 0, 30 * 86400, 'staleSeconds') * 1000;
    // Per-destination state follows the bound the user sets for destinations: cacheSize.
    this.saved = new SavedPlans(this.planLimit, Math.floor(numberOption(o.staleBytes, DEFAULT_STALE_BYTES, 0, 1024 ** 3, 'staleBytes')));
    this.pins = new Pins(this.clock, numberOption(o.pinSeconds, 7200, 1, 30 * 86400, 'pinSeconds') * 1000, maxPins, (pin: Pin) => this.evicted({ op: 'expired', destination: pin.destination }));
    const greylistSeconds = numberOption(o.greylistSeconds, 32, 0, 86400, 'greylistSeconds');
    const maxBlacklistSeconds = numberOption(o.maxBlacklistSeconds, 3600, 0, 86400, 'maxBlacklistSeconds');
    const maxReportMarks = Math.min(MAX_REPORT_MARKS, maxMarks);
    this.marks = new Marks(this.clock, greylistSeconds, maxBlacklistSeconds, maxMarks, (mark: Mark) => this.evicted({ op: 'expired', mark: keyOnly(mark) }), maxReportMarks);
    this.reportMarks = new ReportMarks(this.clock, greylistSeconds, maxBlacklistSeconds, maxReportMarks);
    if (o.numericReportsShared !== undefined && typeof o.numericReportsShared !== 'boolean') throw new SipLocateError('EINVALIDOPTION', 'The option numericReportsShared must be true or false.', { option: 'numericReportsShared' });
    this.numericReportsShared = o.numericReportsShared === true;
    this.admin = new AdminStates(this.clock, maxMarks);
    this.enums = new EnumStep(o, this.clock, this.planLimit);
    this.handedOut = new HandedOut(this.clock, Math.max(this.planLimit, MIN_HANDED_OUT));
    if (o.addressLookup !== undefined && !ADDRESS_LOOKUPS.includes(o.addressLookup)) throw new SipLocateError('EINVALIDOPTION', `The option addressLookup must be one of ${ADDRESS_LOOKUPS.join(', ')}.`, { option: 'addressLookup' });
    this.addressLookup = o.addressLookup ?? 'dns-then-system';
    this.systemTtl = numberOption(o.systemTtl, 30, 0, 86400, 'systemTtl');
    this.systemLookup = limitLookups(o.system?.lookup ?? osLookup);
    const statics = parseStaticRecords(o.staticRecords);
    let querier: DnsQuerier;
    const explicit = (o.nameservers ?? []).some((s) => typeof s === 'string' && s.trim().length > 0);
    if (o.querier) {
      querier = o.querier;
      this.dns = undefined;
    } else if (explicit) {
      this.dns = createDnsClient({
        nameservers: o.nameservers, timeoutMs: o.timeoutMs, tries: o.tries, cacheSize: o.cacheSize,
        minTtl: o.minTtl, maxTtl: o.maxTtl, dns0x20: o.dns0x20, clock: o.clock, staleSeconds: o.staleSeconds, staleAnswerMs: o.staleAnswerMs, cacheBytes: o.cacheBytes,
        onEvent: (event) => this.queried(event),
      });
      querier = this.dns;
    } else {
      // No nameservers given: the system's servers, and resolv.conf's search list, ndots, timeout and attempts.
      const sys = loadSystemSettings(o.system);
      this.search = { domains: sys.conf.search, ndots: sys.conf.ndots };
      if (sys.nameservers.length > 0) {
        this.dns = createDnsClient({
          nameservers: sys.nameservers, timeoutMs: o.timeoutMs ?? sys.conf.timeoutMs, tries: o.tries ?? sys.conf.attempts, cacheSize: o.cacheSize, rotate: sys.conf.rotate,
          minTtl: o.minTtl, maxTtl: o.maxTtl, dns0x20: o.dns0x20, clock: o.clock, staleSeconds: o.staleSeconds, staleAnswerMs: o.staleAnswerMs, cacheBytes: o.cacheBytes,
          onEvent: (event) => this.queried(event),
        });
        querier = this.dns;
      } else if (this.addressLookup !== 'dns') {
        this.dns = undefined;
        querier = noDnsQuerier(sys.path);
      } else {
        throw new SipLocateError('ENONAMESERVER', `No nameserver is configured and the system lists none (${sys.path}); set nameservers or addressLookup "dns-then-system".`, { path: sys.path });
      }
    }
    this.querier = withStaticRecords(querier, statics);
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
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
    if (this.closed) throw new SipLocateError('ECLOSED', 'The locator is closed.');
    if (this.enums.handles(uri)) {
      // One query budget for the whole lookup: what ENUM asked is taken from what RFC 3263 may ask.
      const located = this.enums.resolve(uri, this.querier, options.trace === true, this.maxQueries).then(async (found) => {
        const left = this.maxQueries - found.queries;
        if (left < 1) throw new SipLocateError('EBUDGET', `The ENUM look-up of ${uri.slice(0, 80)} used all ${this.maxQueries} DNS questions of this resolution (maxQueriesPerLocate); none were left to locate ${found.sipUri.slice(0, 80)}.`, { budget: this.maxQueries });
        return withEnum(uri, found, await this.locateSip(found.sipUri, { trace: options.trace }, left));
      });
      return this.withDeadline(located, uri, options.signal);
    }
    return this.locateSip(uri, options);
  }

  /** RFC 3263 location of a SIP URI. */
  private async locateSip(uri: string, options: LocateOptions, maxQueries = this.maxQueries): Promise<LocateResult> {
    const { uri: parsed, destination } = this.parse(uri);
    const ctx = this.planContext(options.trace === true, maxQueries);
    if (options.trace) {
      // Read-only: the tree comes from a fresh build, the answer from what a real locate would use; nothing is stored.
      let built: Awaited<ReturnType<typeof buildPlan>>;
      try {
        built = await this.withDeadline(this.build(parsed, ctx, options.signal), uri, options.signal);
      } catch (err) {
        const saved = this.savedFallback(destination, err, true);
        if (!saved) throw err;
        const result = this.resultFrom(uri, destination, this.cachedPlan(destination) ?? saved.plan, true);
        result.stale = true;
        result.trace = saved.trace;
        return result;
      }
      const result = this.resultFrom(uri, destination, this.cachedPlan(destination) ?? built.plan, true);
      if (built.trace) result.trace = built.trace;
      return result;
    }
    const cached = this.cachedPlan(destination);
    if (cached) {
      this.counts.planHits++;
      return this.resultFrom(uri, destination, cached);
    }
    this.counts.planMisses++;
    let plan: Plan;
    try {
      plan = await this.withDeadline(this.planFor(parsed, destination, ctx), uri, options.signal);
    } catch (err) {
      // No nameserver answered and the DNS client had nothing, not even stale: the last good plan (RFC 8767) routes.
      const saved = this.savedFallback(destination, err, false);
      if (!saved) throw err;
      this.remember(destination, saved.plan);
      plan = saved.plan;
    }
    return this.resultFrom(uri, destination, plan);
  }

  /** What building a plan needs from this locator's settings. */
  private planContext(trace: boolean, maxQueries: number): PlanContext {
    return { querier: this.querier, transports: this.transports, family: this.family, naptrNoMatch: this.naptrNoMatch, trace, maxQueries,
      search: this.search, addressLookup: this.addressLookup, systemTtl: this.systemTtl, systemLookup: this.systemLookup };
  }

  /** The plan being built for a destination, or a new build: messages for one destination share that work. */
  private planFor(parsed: ReturnType<typeof parseSipUri>, destination: string, ctx: PlanContext): Promise<Plan> {
    let building = this.building.get(destination);
    if (!building) {
      building = this.build(parsed, ctx).then((built) => {
        this.remember(destination, built.plan);
        this.keepGood(destination, built.plan);
        return built.plan;
      }).finally(() => this.building.delete(destination));
      this.building.set(destination, building);
    }
    return building;
  }

  /** The destination's last good plan (as a stale plan) when `err` means DNS gave no answer; with a trace saying so. */
  private savedFallback(destination: string, err: unknown, trace: boolean): { plan: Plan; trace?: TraceNode } | undefined {
    if (this.staleMs === 0 || !(err instanceof SipLocateError) || !OUTAGE_CODES.has(err.code)) return undefined;
    const entry = this.saved.get(destination);
    if (!entry || entry.record.expiresAt <= this.clock.now()) return undefined;
    entry.plan ??= planFromRecord(entry.record);
    if (!trace) return { plan: entry.plan };
    const note = `DNS gave no answer (${err.code}); the last good plan, saved ${new Date(entry.record.savedAt).toISOString()}, is used (RFC 8767).`;
    return { plan: entry.plan, trace: { kind: 'uri', name: destination, outcome: 'stale', children: [{ kind: 'note', name: 'stale', outcome: 'stale', note, children: [] }] } };
  }

  /** Keeps a plan built from fresh DNS data as the destination's last good plan, reported when new or once a PLAN_WRITE_INTERVAL_MS. */
  private keepGood(destination: string, plan: Plan): void {
    if (this.staleMs === 0 || plan.stale || plan.ttl <= 0 || this.closed) return;
    // Numeric hosts need no DNS at all.
    if (plan.entries.every((e) => e.kind === 'address' && e.source === 'numeric')) return;
    const now = this.clock.now();
    const record = planToRecord(destination, plan, now, this.staleMs);
    if (!record) return;
    const old = this.saved.get(destination);
    const due = !old || !samePlan(old.record, record) || now - old.reportedAt >= PLAN_WRITE_INTERVAL_MS;
    this.saved.set(destination, { record, reportedAt: due ? now : old.reportedAt, local: true });
    if (due) this.emit({ op: 'plan', plan: record });
  }

  /**
   * Keeps a last good plan read from a store, its savedAt clamped to now (a far-future one cannot outrank later
   * updates) and its lifetime capped by staleSeconds, unless a newer one is held or this locator's own plan for the
   * destination is still fresh (its DNS data has not expired).
   */
  private keepSaved(record: PlanRecord): void {
    const now = this.clock.now();
    const expiresAt = Math.min(record.expiresAt, now + this.staleMs);
    if (this.staleMs === 0 || expiresAt <= now) return;
    const savedAt = Math.min(record.savedAt, now);
    const old = this.saved.get(record.destination);
    if (old && (old.record.savedAt >= savedAt || (old.local && this.cachedPlan(record.destination) !== undefined))) return;
    this.saved.set(record.destination, { record: { ...record, savedAt, expiresAt }, reportedAt: now, local: false });
  }

  savedPlans(): PlanRecord[] {
    const now = this.clock.now();
    return [...this.saved.values()].filter((e) => e.record.expiresAt > now).map((e) => e.record);
  }

  async probeTargets(uri: string, signal?: AbortSignal): Promise<readonly Target[]> {
    if (this.closed) throw new SipLocateError('ECLOSED', 'The locator is closed.');
    const { uri: parsed, destination } = this.parse(uri);
    const plan = this.cachedPlan(destination) ?? await this.withDeadline(this.planFor(parsed, destination, this.planContext(false, this.maxQueries)), uri, signal);
    // A plan drawn once stays the answer while the plan is cached: a monitor asking every interval then finds
    // nothing changed without building a thousand targets again.
    let targets = this.probeSets.get(plan);
    if (!targets) {
      targets = Object.freeze(planTargets(plan, this.family, this.random, this.maxTargets));
      this.probeSets.set(plan, targets);
    }
    return targets;
  }

  probed(target: TargetKey & { host?: string }, outcome: ProbeOutcome): void {
    if (this.closed) return;
    const changed = this.health.record(target, outcome);
    if (outcome.alive && this.marks.clearGrey(target)) this.emit({ op: 'unmark', target: keyOnly(target) });
    if (!changed || changed === 'unknown') return;
    const reason = changed === 'down' ? outcome.error ?? (outcome.code !== undefined ? `status ${outcome.code}` : 'no answer') : `status ${outcome.code ?? 'ok'}`;
    this.events.emit({ op: changed, target: keyOnly(target), state: changed, reason });
    if (changed === 'down') for (const destination of this.pins.unpinTarget(target)) this.emit({ op: 'unpin', destination, target: keyOnly(target) });
  }

  locateCached(uri: string): LocateResult | undefined {
    if (this.closed) throw new SipLocateError('ECLOSED', 'The locator is closed.');
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
    const { destination } = this.parse(uri);
    const cached = this.cachedPlan(destination);
    return cached ? this.resultFrom(uri, destination, cached) : undefined;
  }

  failover(state: FailoverState, failure: Failure): Target | undefined {
    const failed = state.tried[state.tried.length - 1];
    if (failed) {
      this.counts.failovers++;
      this.markFailed(failed, failure);
    }
    return this.nextTarget(state);
  }

  /** The first target not tried yet, unmarked ones first (pinned in sticky mode); marks nothing. */
  private nextTarget(state: FailoverState): Target | undefined {
    const tried = new Set(state.tried.map(targetKeyOf));
    let grey: Target | undefined;
    let black: Target | undefined;
    let drained: Target | undefined;
    let disabled: Target | undefined;
    let next: Target | undefined;
    for (const t of state.targets) {
      if (tried.has(targetKeyOf(t))) continue;
      const a = this.admin.get(t)?.state;
      if (a === 'disable') {
        disabled ??= t;
        continue;
      }
      const m = this.reportMarks.size > 0 ? strongerMark(this.marks.get(t), this.reportMarks.get(state.destination, t)) : this.marks.get(t);
      if (!m) {
        if (a === 'drain') {
          drained ??= t;
          continue;
        }
        if (this.health.state(t) === 'down') {
          black ??= t; // found dead by probing: skipped like a black mark while others remain
          continue;
        }
        next = t;
        break;
      }
      if (m.mark === 'grey') grey ??= t;
      else black ??= t;
    }
    next ??= drained ?? grey ?? black ?? disabled;
    if (next && this.sticky && !this.admin.get(next)) this.pin(state.destination, next);
    return next;
  }

  failoverFrom(uri: string, failed: TargetKey | string, options?: ReportOptions): Promise<ReportResult> {
    return failoverFrom(this, this.reportSink, uri, failed, options, this.numericReportsShared);
  }

  /** What failoverFrom() may do beyond the public interface: check hand-outs and mark within the report bounds. */
  private readonly reportSink: ReportSink = {
    sequence: () => this.handedOut.sequence(),
    recent: (uri) => {
      if (this.enums.handles(uri)) return true;
      try {
        return this.handedOut.recent(this.parse(uri).destination);
      } catch {
        return true; // the report's locate rejects the URI with its own error
      }
    },
    handedOut: (destination, target, before) => this.handedOut.covers(destination, target, before),
    markReported: (destination, target, failure, shared) => {
      this.counts.failovers++;
      if (!REASONS.includes(failure.reason) || !this.reportMarks.allows(destination)) return false;
      if (shared) {
        const { mark, changed } = this.marks.mark(target, failure, true);
        if (!changed) return true;
        this.reportMarks.count(destination);
        this.emit({ op: 'mark', mark: { ...mark } });
        for (const d of this.pins.unpinTarget(target)) this.emit({ op: 'unpin', destination: d, target: keyOnly(target) });
        return true;
      }
      if (!this.reportMarks.put(destination, this.reportMarks.markOf(target, failure))) return true;
      this.reportMarks.count(destination);
      const pin = this.pins.get(destination);
      if (pin && targetKeyOf(pin) === targetKeyOf(target)) {
        this.pins.delete(destination);
        this.emit({ op: 'unpin', destination, target: keyOnly(target) });
      }
      return true;
    },
    next: (state) => this.nextTarget(state),
  };

  markFailed(target: TargetKey, failure: Failure): void {
    if (!failure || !REASONS.includes(failure.reason)) throw new SipLocateError('EINVALIDOPTION', 'A failure reason must be "transport", "timeout" or "503".', { reason: failure?.reason });
    const { mark, changed } = this.marks.mark(target, failure);
    if (changed) this.emit({ op: 'mark', mark: { ...mark } });
    for (const destination of this.pins.unpinTarget(target)) this.emit({ op: 'unpin', destination, target: keyOnly(target) });
  }

  markSucceeded(target: TargetKey, destination?: string): void {
    if (this.marks.clearGrey(target)) this.emit({ op: 'unmark', target: keyOnly(target) });
    if (destination !== undefined && this.reportMarks.size > 0) this.reportMarks.clearGrey(destination, target);
    if (!this.sticky || !destination) return;
    const pin = this.pins.get(destination);
    if (pin && targetKeyOf(pin) === targetKeyOf(target) && !this.dueForRenewal(pin.expiresAt)) {
      this.pins.touch(destination);
      return;
    }
    // A drained or disabled target gets no new pin.
    if (this.admin.get(target) && !(pin && targetKeyOf(pin) === targetKeyOf(target))) return;
    this.pin(destination, asTarget(target));
  }

  pinnedTarget(destination: string): Target | undefined {
    const pin = this.pins.get(destination);
    return pin?.target();
  }

  held(): { marks: number; pins: number } {
    return { marks: this.marks.size, pins: this.pins.size };
  }

  state(): LocatorState {
    // Sorted (by code unit, cheaply), so the same state reads the same whatever the recency order of the pins.
    const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
    const byKey = (a: TargetKey, b: TargetKey): number => cmp(a.transport, b.transport) || cmp(a.address, b.address) || a.port - b.port;
    return { marks: this.marks.list().sort(byKey), pins: this.pins.list().sort((a, b) => cmp(a.destination, b.destination)) };
  }

  setTargetState(target: TargetKey, state: AdminState, seconds?: number): AdminRecord {
    if (this.closed) throw new SipLocateError('ECLOSED', 'The locator is closed.');
    const t = target as Partial<TargetKey> | undefined;
    if (!t || typeof t.transport !== 'string' || !isTransport(t.transport) || typeof t.address !== 'string' || isIP(t.address) === 0
      || typeof t.port !== 'number' || !Number.isInteger(t.port) || t.port < 1 || t.port > 65535) {
      throw new SipLocateError('EINVALIDOPTION', 'A target needs a transport (udp, tcp, tls, sctp, ws, wss), an IP address and a port from 1 to 65535.', { option: 'target' });
    }
    if (!isAdminState(state)) throw new SipLocateError('EINVALIDOPTION', 'The state must be drain, disable or enable.', { option: 'state' });
    if (seconds !== undefined && (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_ADMIN_SECONDS)) {
      throw new SipLocateError('EINVALIDOPTION', `The seconds must be a number above 0 and at most ${MAX_ADMIN_SECONDS}.`, { option: 'seconds' });
    }
    const now = this.clock.now();
    const record: AdminRecord = { ...keyOnly(t as TargetKey), state, since: now, ...(seconds !== undefined && state !== 'enable' ? { expiresAt: now + Math.round(seconds * 1000) } : {}) };
    if (this.admin.put(record)) {
      // A disabled target keeps no pins: the destinations pinned to it move on at their next locate.
      if (state === 'disable') for (const destination of this.pins.unpinTarget(record)) this.emit({ op: 'unpin', destination, target: keyOnly(record) });
      this.emit({ op: 'admin', admin: record });
    }
    return record;
  }

  adminStates(): AdminRecord[] {
    // by code unit, as state() sorts
    const cmp = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
    return this.admin.list().sort((a, b) => cmp(a.transport, b.transport) || cmp(a.address, b.address) || a.port - b.port);
  }

  counters(): LocatorCounters {
    return { ...this.counts, locates: { ...this.counts.locates } };
  }

  onQuery(listener: (event: QueryEvent) => void): () => void {
    this.queryListeners.add(listener);
    return () => {
      this.queryListeners.delete(listener);
    };
  }

  /** Hands a finished DNS query to the listeners and turns nameserver health changes into events. */
  private queried(event: QueryEvent): void {
    for (const l of this.queryListeners) {
      try {
        l(event);
      } catch {
        // a metrics listener must not break DNS
      }
    }
    if (!this.dns || event.outcome === 'cache') return;
    for (const ns of this.dns.nameserverStates()) {
      const was = this.nsStates.get(ns.address) ?? 'healthy';
      if (was === ns.state) continue;
      this.nsStates.set(ns.address, ns.state);
      this.events.emit({ op: ns.state === 'failing' ? 'nameserver-down' : 'nameserver-up', nameserver: ns.address, state: ns.state, ...(ns.lastError ? { reason: ns.lastError } : {}) });
    }
  }

  resetState(): void {
    this.reportMarks.clear();
    this.marks.clear();
    this.pins.clear();
    this.emit({ op: 'reset' });
  }

  onChange(listener: (change: StateChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  apply(change: StateChange): void {
    this.applying = true;
    try {
      this.applyChange(change);
    } finally {
      this.applying = false;
    }
  }

  private applyChange(change: StateChange): void {
    switch (change.op) {
      case 'mark':
        if (this.marks.put(change.mark).changed) this.pins.unpinTarget(change.mark);
        break;
      case 'unmark':
        this.marks.clearGrey(change.target);
        break;
      case 'pin':
        this.pins.put(change.pin);
        break;
      case 'unpin':
        this.pins.delete(change.destination, change.target);
        break;
      case 'expired': {
        const deadline = this.clock.now() + EXPIRY_SKEW_MS;
        if (change.mark) this.marks.expire(change.mark, deadline);
        if (change.destination !== undefined) this.pins.expire(change.destination, deadline);
        break;
      }
      case 'reset':
        this.reportMarks.clear();
        this.marks.clear();
        this.pins.clear();
        break;
      case 'admin':
        if (this.admin.put(change.admin)) {
          if (change.admin.state === 'disable') this.pins.unpinTarget(change.admin);
          this.announce(change);
        }
        break;
      case 'plan':
        this.keepSaved(change.plan);
        break;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.health.clear();
    this.events.clear();
    this.queryListeners.clear();
    this.plans.clear();
    this.saved.clear();
    this.enums.clear();
    this.dns?.close();
  }

  /** The parsed URI and its destination key, from a bounded cache; throws EINVALIDURI. */
  private parse(uri: string): { uri: ReturnType<typeof parseSipUri>; destination: string } {
    let known = typeof uri === 'string' ? this.parsed.get(uri) : undefined;
    if (!known) {
      const p = parseSipUri(uri);
      known = { uri: p, destination: destinationKey(p) };
      if (this.parsed.size >= 10_000) this.parsed.delete(this.parsed.keys().next().value as string);
      this.parsed.set(uri, known);
    }
    return known;
  }

  /** The destination's plan while its DNS data is fresh. */
  private cachedPlan(destination: string): Plan | undefined {
    const cached = this.plans.get(destination);
    return cached && cached.expiresAt > this.clock.now() ? cached.plan : undefined;
  }

  /** Draws the order from a plan and applies marks and the pin (readOnly: without changing pins); throws ENOADDRESS when nothing is left. */
  private resultFrom(uri: string, destination: string, plan: Plan, readOnly = false): LocateResult {
    const ordered = this.applyMarks(planTargets(plan, this.family, this.random, this.maxTargets), destination);
    if (ordered.length === 0) throw new SipLocateError('ENOADDRESS', `No address is left for ${destination} under the family policy ${this.family}.`, { destination });
    const sticky = this.applyPin(destination, ordered, readOnly, plan);
    if (!readOnly) this.handedOut.record(destination, plan);
    return { uri, destination, targets: ordered, sticky, stale: plan.stale === true };
  }

  /** Pins target for destination and reports it, naming the pin it replaced. */
  private pin(destination: string, target: Target): void {
    const old = this.pins.get(destination);
    const pin = this.pins.set(destination, target);
    if (this.listeners.size === 0 && this.events.size === 0) return;
    const change: StateChange = { op: 'pin', pin };
    if (old) change.replaces = keyOnly(old);
    this.emit(change);
  }

  /** True when less than half of a pin's lifetime is left, so using it should renew it. */
  private dueForRenewal(expiresAt: number): boolean {
    return expiresAt - this.clock.now() < this.pins.lifetimeMs / 2;
  }

  /** Reports a mark or pin dropped to keep a bound, unless a change from elsewhere caused it. */
  private evicted(change: StateChange): void {
    if (!this.applying) this.emit(change);
  }

  /** Frees expired marks and pins, a step at a time so a mass expiry does not stall the event loop. */
  private sweep(): void {
    if (this.closed) return;
    const freed = this.pins.sweep(SWEEP_STEP) + this.marks.sweep(SWEEP_STEP);
    if (freed >= SWEEP_STEP) setImmediate(() => this.sweep());
  }

  private emit(change: StateChange): void {
    if (this.events.size > 0) this.announce(change);
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not break locating; stores report their own errors.
      }
    }
  }

  /** Tells the event listeners about a local change to marks and pins (evictions to keep a bound are not events). */
  private announce(change: StateChange): void {
    switch (change.op) {
      case 'mark':
        this.events.emit({ op: 'mark', target: keyOnly(change.mark), state: change.mark.mark, expiresAt: change.mark.expiresAt });
        break;
      case 'unmark':
        this.events.emit({ op: 'unmark', target: keyOnly(change.target) });
        break;
      case 'pin':
        this.events.emit({ op: 'pin', target: keyOnly(change.pin.target), destination: change.pin.destination, expiresAt: change.pin.expiresAt });
        break;
      case 'unpin':
        this.events.emit({ op: 'unpin', target: keyOnly(change.target), destination: change.destination });
        break;
      case 'admin':
        this.events.emit({ op: change.admin.state, target: keyOnly(change.admin), ...(change.admin.state !== 'enable' ? { state: change.admin.state } : {}), ...(change.admin.expiresAt !== undefined ? { expiresAt: change.admin.expiresAt } : {}) });
        break;
      default:
        break;
    }
  }

  private remember(destination: string, plan: Plan): void {
    if (plan.ttl <= 0 || this.planLimit === 0) return;
    this.plans.delete(destination);
    this.plans.set(destination, { plan, expiresAt: this.clock.now() + plan.ttl * 1000 });
    if (this.plans.size > this.planLimit) this.plans.delete(this.plans.keys().next().value as string);
  }

  /** Unmarked targets first, then drained, grey, black and down (found dead by probing); disabled ones only when nothing else is left. Marked ones carry their mark. */
  private applyMarks(targets: Target[], destination: string): Target[] {
    const free: Target[] = [];
    const drained: Target[] = [];
    const grey: Target[] = [];
    const black: Target[] = [];
    const disabled: Target[] = [];
    const probed = this.health.size > 0;
    for (const t of targets) {
      const a = this.admin.size > 0 ? this.admin.get(t)?.state : undefined;
      if (a === 'disable') {
        disabled.push(t);
        continue;
      }
      const m = this.reportMarks.size > 0 ? strongerMark(this.marks.get(t), this.reportMarks.get(destination, t)) : this.marks.get(t);
      if (!m) (probed && this.health.state(t) === 'down' ? black : a === 'drain' ? drained : free).push(t);
      else (m.mark === 'grey' ? grey : black).push({ ...t, mark: m.mark });
    }
    if (grey.length + black.length + drained.length + disabled.length === 0) return free;
    const usable = [...free, ...drained, ...grey, ...black];
    return usable.length > 0 ? usable : disabled;
  }

  /**
   * Puts the destination's pin first (dropping it when DNS no longer lists it) or pins targets[0]; true when targets[0]
   * is pinned. readOnly: the same answer, but no pin is made, renewed, dropped or counted as used.
   */
  private applyPin(destination: string, targets: Target[], readOnly: boolean, plan: Plan): boolean {
    if (!this.sticky) return false;
    const pin = this.pins.get(destination);
    if (pin) {
      const key = targetKeyOf(pin);
      const i = this.health.state(pin) === 'down' ? -1 : targets.findIndex((t) => targetKeyOf(t) === key);
      const better = i >= 0 && this.failback ? this.betterUp(plan, targets, targets[i]!) : undefined;
      if (better !== undefined) {
        targets.unshift(targets.splice(better, 1)[0]!);
        if (readOnly) return true;
        this.pin(destination, targets[0]!);
        this.events.emit({ op: 'failback', target: keyOnly(targets[0]!), destination, reason: `from ${pin.transport} ${pin.address}:${pin.port}` });
        return true;
      }
      if (i >= 0) {
        if (i > 0) targets.unshift(targets.splice(i, 1)[0]!);
        if (readOnly) return true;
        if (this.dueForRenewal(pin.expiresAt)) this.pin(destination, pin.target());
        else this.pins.touch(destination);
        return true;
      }
      if (!readOnly) {
        this.pins.delete(destination);
        this.emit({ op: 'unpin', destination, target: keyOnly(pin) });
      }
    }
    if (targets[0]!.mark === 'black' || this.health.state(targets[0]!) === 'down') return false;
    // Drained and disabled targets get no new pins.
    if (this.admin.size > 0 && this.admin.get(targets[0]!)) return false;
    if (!readOnly) this.pin(destination, targets[0]!);
    return true;
  }

  /** The index of the best target that ranks above the pinned one in DNS order, is up and is unmarked (failback). */
  private betterUp(plan: Plan, targets: Target[], pinned: Target): number | undefined {
    let bestRank = rankIn(plan, pinned);
    let best: number | undefined;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      const rank = rankIn(plan, t);
      if (rank < bestRank && t.mark === undefined && this.health.state(t) === 'up') {
        bestRank = rank;
        best = i;
      }
    }
    return best;
  }

  /** Builds a plan whose DNS work is cancelled after resolveTimeoutMs, or when `signal` aborts. */
  private build(parsed: ReturnType<typeof parseSipUri>, ctx: PlanContext, signal?: AbortSignal): ReturnType<typeof buildPlan> {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), this.resolveTimeoutMs);
    const onAbort = (): void => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    return buildPlan(parsed, { ...ctx, signal: stop.signal }).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  }

  private withDeadline<T>(work: Promise<T>, uri: string, signal?: AbortSignal): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const late = (): SipLocateError => new SipLocateError('ETIMEOUT', `Locating ${uri} took longer than ${this.resolveTimeoutMs} ms.`, { uri });
      const timer = setTimeout(() => reject(late()), this.resolveTimeoutMs);
      const onAbort = (): void => reject(new SipLocateError('ECANCELLED', `Locating ${uri} was cancelled.`, { uri }));
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      // A build cancelled by its own deadline is this caller's timeout.
      const failed = (err: unknown): void => reject(err instanceof SipLocateError && err.code === 'ECANCELLED' && !signal?.aborted ? late() : err);
      work.then(resolve, failed).finally(() => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      });
    });
  }
}
