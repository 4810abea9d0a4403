/** What a locator offers: the Locator interface, and beyond it the DNS client, counters, events, operator states, health, probe targets. */
import type { DnsClient, QueryEvent } from '../dns/types';
import type { EventHub } from '../events';
import type { Health, ProbeOutcome } from '../failover/health';
import type {
  AdminRecord,
  AdminState,
  Failure,
  FailoverState,
  LocateOptions,
  LocateResult,
  LocatorState,
  PlanRecord,
  ReportOptions,
  ReportResult,
  StateChange,
  Target,
  TargetKey,
} from '../types';

/** A resolver with shared DNS cache, failure marks and sticky pins. */
export interface Locator {
  /** Resolves a SIP/SIPS URI (bare or in angle brackets), or a tel: URI through ENUM, into the failover order; rejects with SipLocateError. */
  locate(uri: string, options?: LocateOptions): Promise<LocateResult>;
  /** The same answer as locate() when the DNS data for the URI is cached and fresh, else undefined; throws SipLocateError (EINVALIDURI, ENOADDRESS, ECLOSED). */
  locateCached(uri: string, options?: { key?: string }): LocateResult | undefined;
  /**
   * Marks the last tried target failed (ending its stickiness) and returns the next target to try:
   * untried unmarked targets in list order first, then grey, then black; undefined when none is left.
   * In sticky mode the returned target becomes the destination's pin.
   */
  failover(state: FailoverState, failure: Failure): Target | undefined;
  /**
   * A failure (or success) reported from outside the flow: locates `uri`, refuses a target that is not one of its
   * current targets (ENOTATARGET, nothing marked), then marks it per the failover policy and picks the next target.
   */
  failoverFrom(uri: string, failed: TargetKey | string, options?: ReportOptions): Promise<ReportResult>;
  /** Marks a target failed: grey for transport/timeout/503 without Retry-After, black for 503 with Retry-After; unpins it. */
  markFailed(target: TargetKey, failure: Failure): void;
  /** Clears a grey mark; in sticky mode pins the target for `destination` (and affinity `key`) when given. */
  markSucceeded(target: TargetKey, destination?: string, key?: string): void;
  /** The destination's sticky server (for an affinity key: the pin of that key), if it has a live pin. */
  pinnedTarget(destination: string, key?: string): Target | undefined;
  /** Current marks and pins (expired ones left out); with `orders`, also the current order of recent destinations. */
  state(options?: { orders?: boolean }): LocatorState;
  /** Drops all marks and pins (not the DNS cache). */
  resetState(): void;
  /** Calls listener with each change this locator makes to marks or pins; returns a function that stops it. */
  onChange(listener: (change: StateChange) => void): () => void;
  /** The last good plan of each recently located destination, for a store to keep (empty without serve-stale). */
  savedPlans(): PlanRecord[];
  /** Applies a change made elsewhere (a store, another instance) without reporting it to onChange listeners. */
  apply(change: StateChange): void;
  /** Operator states in force (drain, disable), sorted by target. */
  adminStates(): AdminRecord[];
  /** Releases sockets and timers; later locate() calls reject with ECLOSED. */
  close(): void;
}

/** A Locator with its DNS client, counters, events, operator states, health and probe targets. */
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
