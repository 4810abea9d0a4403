/**
 * Building a destination's plan: the build context from the settings, the one deadline per build (resolveTimeoutMs)
 * shared by every caller for the destination, and keeping the result as the cached and the last good plan.
 */
import { withDeadline } from '../deadline';
import type { DnsQuerier } from '../dns/types';
import { SipLocateError } from '../errors';
import { buildPlan, type PlanContext } from '../rfc3263/locate';
import type { Plan } from '../rfc3263/plan';
import type { SystemLookup } from '../system/lookup';
import type { SearchSettings } from '../system/search';
import type { PlanRecord, SipUri } from '../types';
import type { Settings } from './options';
import type { PlanCache } from './plan-cache';
import type { SavedPlans } from './saved-plans';

/** What a plan build uses besides the settings. */
export interface BuildParts {
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
  constructor(private readonly s: Settings, private readonly parts: BuildParts) {}

  /** The DNS querier the builds ask (ENUM asks it too). */
  get querier(): DnsQuerier {
    return this.parts.querier;
  }

  /** What building a plan needs from this locator's settings. */
  context(trace: boolean, maxQueries: number): PlanContext {
    const { s, parts } = this;
    return { querier: parts.querier, transports: s.transports, family: s.family, naptrNoMatch: s.naptrNoMatch, trace, maxQueries,
      search: parts.search, addressLookup: s.addressLookup, systemTtl: s.systemTtl, systemLookup: parts.systemLookup, random: parts.random };
  }

  /**
   * The destination's plan from a build shared by every caller for it: the build holds the one timer (resolveTimeoutMs);
   * a caller's signal only stops that caller waiting.
   */
  planFor(uri: string, parsed: SipUri, destination: string, ctx: PlanContext, signal: AbortSignal | undefined): Promise<Plan> {
    const { cache, saved } = this.parts;
    const build = cache.shared(destination, () => this.deadline(uri, undefined, this.s.resolveTimeoutMs, (stop) => buildPlan(parsed, { ...ctx, signal: stop })).then((built) => {
      cache.remember(destination, built.plan);
      const record = this.parts.closed() ? undefined : saved.keepGood(destination, built.plan);
      if (record) this.parts.kept(record);
      return built.plan;
    }));
    return signal ? this.deadline(uri, signal, Infinity, () => build) : build;
  }

  /** Runs work under the one deadline helper: ETIMEOUT after `ms`, ECANCELLED when `signal` aborts. */
  deadline<T>(uri: string, signal: AbortSignal | undefined, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withDeadline(work, {
      ms,
      signal,
      timeout: () => new SipLocateError('ETIMEOUT', `Locating ${uri} took longer than ${this.s.resolveTimeoutMs} ms.`, { uri }),
      cancelled: () => new SipLocateError('ECANCELLED', `Locating ${uri} was cancelled.`, { uri }),
    });
  }
}
