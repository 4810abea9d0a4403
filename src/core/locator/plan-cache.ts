/** Parsed URIs, plans while their DNS data is fresh, builds in flight shared by destination, and the probe-target memo. */
import type { Clock, FamilyPolicy, SipUri, Target } from '../types';
import { planTargets, type Plan } from '../rfc3263/plan';
import { destinationKey, parseSipUri } from '../uri';

/** Most parsed URIs kept, so a warm locate() does not parse again; the oldest goes first beyond it. */
export const MAX_PARSED_URIS = 10_000;

/** A URI parsed once, and its destination key (the key of plans and pins). */
export interface ParsedUri {
  uri: SipUri;
  destination: string;
}

/** The plan caches of one locator; `limit` plans at most (cacheSize), LRU. */
export class PlanCache {
  private readonly plans = new Map<string, { plan: Plan; expiresAt: number }>();
  private readonly parsed = new Map<string, ParsedUri>();
  /** Plans being built, by destination. */
  private readonly building = new Map<string, Promise<Plan>>();
  /** The targets probeTargets() drew from a plan, kept as long as the plan is (weakly). */
  private readonly probeSets = new WeakMap<Plan, readonly Target[]>();

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
  ) {}

  /** The parsed URI and its destination key, from a bounded cache; throws EINVALIDURI. */
  parse(uri: string): ParsedUri {
    let known = typeof uri === 'string' ? this.parsed.get(uri) : undefined;
    if (!known) {
      const p = parseSipUri(uri);
      known = { uri: p, destination: destinationKey(p) };
      if (this.parsed.size >= MAX_PARSED_URIS) this.parsed.delete(this.parsed.keys().next().value as string);
      this.parsed.set(uri, known);
    }
    return known;
  }

  /** The destination's plan while its DNS data is fresh. */
  get(destination: string): Plan | undefined {
    const cached = this.plans.get(destination);
    return cached && cached.expiresAt > this.clock.now() ? cached.plan : undefined;
  }

  /** Keeps a plan for its TTL (not at all with a TTL of 0 or cacheSize 0). */
  remember(destination: string, plan: Plan): void {
    if (plan.ttl <= 0 || this.limit === 0) return;
    this.plans.delete(destination);
    this.plans.set(destination, { plan, expiresAt: this.clock.now() + plan.ttl * 1000 });
    if (this.plans.size > this.limit) this.plans.delete(this.plans.keys().next().value as string);
  }

  /** The build in flight for a destination, or a new one from `start`: callers for one destination share that work. */
  shared(destination: string, start: () => Promise<Plan>): Promise<Plan> {
    let building = this.building.get(destination);
    if (!building) {
      building = start().finally(() => this.building.delete(destination));
      this.building.set(destination, building);
    }
    return building;
  }

  /**
   * The targets a plan yields, drawn once and shared (frozen) while the plan is cached: a monitor asking every
   * interval then finds nothing changed without building a thousand targets again.
   */
  probeTargets(plan: Plan, family: FamilyPolicy, random: () => number, maxTargets: number): readonly Target[] {
    let targets = this.probeSets.get(plan);
    if (!targets) {
      targets = Object.freeze(planTargets(plan, family, random, maxTargets));
      this.probeSets.set(plan, targets);
    }
    return targets;
  }

  clear(): void {
    this.plans.clear();
    this.parsed.clear();
  }
}
