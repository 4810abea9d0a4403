/**
 * A destination's plan: from the cache, a build (the build context from the settings, the one deadline per build,
 * resolveTimeoutMs, shared by every caller for the destination), or the last good plan when DNS gives no answer;
 * tel: URIs through ENUM first. A built plan is kept as the cached and the last good plan.
 */
import { withDeadline } from '../deadline';
import type { DnsQuerier } from '../dns/types';
import { SipLocateError } from '../errors';
import { buildPlan, type PlanContext } from '../rfc3263/locate';
import type { Plan } from '../rfc3263/plan';
import type { SystemLookup } from '../system/lookup';
import type { SearchSettings } from '../system/search';
import type { EnumOutcome, EnumStep } from '../enum/step';
import type { LocateOptions, PlanRecord, SipUri, TraceNode } from '../types';
import type { Settings } from './options';
import type { PlanCache } from './plan-cache';
import type { SavedPlans } from './saved-plans';

/** A URI's plan as locate() found it, before the draw: from cache, a build or the last good plan; tel: through ENUM. */
export interface Planned {
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

/** What a plan build uses besides the settings. */
export interface BuildParts {
  enums: EnumStep;
  /** Counts a plan cache hit (true) or miss (false) of a locate. */
  counted(hit: boolean): void;
  querier: DnsQuerier;
  search: SearchSettings | undefined;
  systemLookup: SystemLookup;
  random: () => number;
  cache: PlanCache;
  saved: SavedPlans;
  /** A new last good plan was kept (unless the locator is closed): tell the change bus. */
  kept(record: PlanRecord): void;
  /** True once the locator is closed: a build finishing then keeps no last good plan. */
  closed(): boolean;
}

/** The plan builds of one locator. */
export class PlanBuilds {
  constructor(
    private readonly s: Settings,
    private readonly parts: BuildParts,
  ) {}

  /** The DNS querier the builds ask (ENUM asks it too). */
  get querier(): DnsQuerier {
    return this.parts.querier;
  }

  /** What building a plan needs from this locator's settings. */
  context(trace: boolean, maxQueries: number): PlanContext {
    const { s, parts } = this;
    return {
      querier: parts.querier,
      transports: s.transports,
      family: s.family,
      naptrNoMatch: s.naptrNoMatch,
      trace,
      maxQueries,
      search: parts.search,
      addressLookup: s.addressLookup,
      systemTtl: s.systemTtl,
      systemLookup: parts.systemLookup,
      random: parts.random,
    };
  }

  /**
   * The destination's plan from a build shared by every caller for it: the build holds the one timer (resolveTimeoutMs);
   * a caller's signal only stops that caller waiting.
   */
  planFor(
    uri: string,
    parsed: SipUri,
    destination: string,
    ctx: PlanContext,
    signal: AbortSignal | undefined,
  ): Promise<Plan> {
    const { cache, saved } = this.parts;
    const build = cache.shared(destination, () =>
      this.deadline(uri, undefined, this.s.resolveTimeoutMs, (stop) =>
        buildPlan(parsed, { ...ctx, signal: stop }),
      ).then((built) => {
        cache.remember(destination, built.plan);
        const record = this.parts.closed() ? undefined : saved.keepGood(destination, built.plan);
        if (record) this.parts.kept(record);
        return built.plan;
      }),
    );
    return signal ? this.deadline(uri, signal, Infinity, () => build) : build;
  }

  /** The plan of a SIP URI, or of a tel: URI through ENUM (one query budget for both), with its trace when asked. */
  planOf(uri: string, options: LocateOptions): Promise<Planned> {
    if (!this.parts.enums.handles(uri)) return this.planOfSip(uri, options);
    // One query budget for the whole lookup: what ENUM asked is taken from what RFC 3263 may ask.
    const max = this.s.maxQueries;
    return this.deadline(uri, options.signal, this.s.resolveTimeoutMs, () =>
      this.parts.enums
        .resolve(uri, this.parts.querier, options.trace === true, max)
        .then(async (found): Promise<Planned> => {
          const left = max - found.queries;
          if (left < 1)
            throw new SipLocateError(
              'EBUDGET',
              `The ENUM look-up of ${uri.slice(0, 80)} used all ${max} DNS questions of this resolution (maxQueriesPerLocate); none were left to locate ${found.sipUri.slice(0, 80)}.`,
              { budget: max },
            );
          return { ...(await this.planOfSip(found.sipUri, { trace: options.trace }, left)), found };
        }),
    );
  }

  /** RFC 3263 plan of a SIP URI: cached, built, or (DNS gave no answer) the last good one; with its trace when asked. */
  private async planOfSip(uri: string, options: LocateOptions, maxQueries = this.s.maxQueries): Promise<Planned> {
    const { cache, saved } = this.parts;
    const { uri: parsed, destination } = cache.parse(uri);
    const ctx = this.context(options.trace === true, maxQueries);
    if (options.trace) {
      // Read-only: the tree comes from a fresh build, the answer from what a real locate would use; nothing is stored.
      try {
        const built = await this.deadline(uri, options.signal, this.s.resolveTimeoutMs, (signal) =>
          buildPlan(parsed, { ...ctx, signal }),
        );
        return { uri, destination, plan: cache.get(destination) ?? built.plan, stale: false, trace: built.trace };
      } catch (err) {
        const last = saved.fallback(destination, err, true);
        if (!last) throw err;
        return { uri, destination, plan: cache.get(destination) ?? last.plan, stale: true, trace: last.trace };
      }
    }
    const cached = cache.get(destination);
    this.parts.counted(cached !== undefined);
    if (cached) return { uri, destination, plan: cached, stale: false };
    let plan: Plan;
    try {
      plan = await this.planFor(uri, parsed, destination, ctx, options.signal);
    } catch (err) {
      // No nameserver answered and the DNS client had nothing, not even stale: the last good plan (RFC 8767) routes.
      const last = saved.fallback(destination, err, false);
      if (!last) throw err;
      cache.remember(destination, last.plan);
      plan = last.plan;
    }
    return { uri, destination, plan, stale: false };
  }

  /** A URI's plan when its DNS data (and ENUM step) is cached and fresh. */
  cachedPlanOf(uri: string): Planned | undefined {
    if (this.parts.enums.handles(uri)) {
      const found = this.parts.enums.cached(uri);
      const p = found && this.cachedPlanOf(found.sipUri);
      return found && p ? { ...p, found } : undefined;
    }
    const { destination } = this.parts.cache.parse(uri);
    const plan = this.parts.cache.get(destination);
    return plan ? { uri, destination, plan, stale: false } : undefined;
  }

  /** Runs work under the one deadline helper: ETIMEOUT after `ms`, ECANCELLED when `signal` aborts. */
  deadline<T>(
    uri: string,
    signal: AbortSignal | undefined,
    ms: number,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return withDeadline(work, {
      ms,
      signal,
      timeout: () =>
        new SipLocateError('ETIMEOUT', `Locating ${uri} took longer than ${this.s.resolveTimeoutMs} ms.`, { uri }),
      cancelled: () => new SipLocateError('ECANCELLED', `Locating ${uri} was cancelled.`, { uri }),
      // Each question of the locate listens on this signal while it is out: at most the question budget at once.
      fanOut: this.s.maxQueries,
    });
  }
}
