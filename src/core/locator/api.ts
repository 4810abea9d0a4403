/** What a locator offers beyond the Locator interface: DNS client, counters, events, operator states, health, probe targets. */
import type { DnsClient, QueryEvent } from '../dns/types';
import type { EventHub } from '../events';
import type { Health, ProbeOutcome } from '../failover/health';
import type { AdminRecord, AdminState, Locator, PlanRecord, Target, TargetKey } from '../types';

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
