/**
 * The one target order: what locate() lists, what failover() hands out next, which pin is honoured, which target
 * gets a new pin and where failback moves a pin all come from the rank below. Nothing else orders targets.
 *
 * Rank of a target, best first, ties kept in RFC 3263 order (NAPTR order, SRV priority, weighted draw):
 *   0 usable   - no mark, not drained, not disabled, not found down by probing
 *   1 drained  - no mark, drained by an operator (existing pins stay, no new ones)
 *   2 grey     - a grey mark (a recent transport error or timeout)
 *   3 dead     - a black mark (503 with Retry-After) or found down by probing
 *   4 disabled - listed only when every target is disabled
 * The strongest fact wins: disabled over dead over grey over drained. The destination's pin goes first when its target
 * is not dead or disabled (a pin on a black, down or disabled target, say one another instance wrote in a race, is kept
 * but not honoured).
 */
import type { Plan } from '../rfc3263/plan';
import type { AdminState, Target, TargetKey } from '../types';
import { sameTarget, targetId } from '../target';
import type { HealthState } from './health';

/** A target's standing in the order (lower is better): usable, drained, grey, dead (black or down), disabled. */
export const Standing = { Usable: 0, Drained: 1, Grey: 2, Dead: 3, Disabled: 4 } as const;
/** One of the five standings. */
export type Standing = (typeof Standing)[keyof typeof Standing];

/** What the order needs to know about targets: operator state, failure mark, probe health. */
export interface TargetFacts {
  /** True when no target has any operator state, mark or health record (the order is then the RFC 3263 order). */
  readonly empty: boolean;
  admin(t: TargetKey): AdminState | undefined;
  mark(t: TargetKey): 'grey' | 'black' | undefined;
  health(t: TargetKey): HealthState;
}

/** The standing of one target under the facts. */
export function standingOf(facts: TargetFacts, t: TargetKey): Standing {
  const admin = facts.admin(t);
  if (admin === 'disable') return Standing.Disabled;
  const mark = facts.mark(t);
  if (mark === 'black' || facts.health(t) === 'down') return Standing.Dead;
  if (mark === 'grey') return Standing.Grey;
  return admin === 'drain' ? Standing.Drained : Standing.Usable;
}

/** True when a pin on a target of this standing is honoured (put first): not dead, not disabled. */
export function honoursPin(s: Standing): boolean {
  return s <= Standing.Grey;
}

/** True when a target of this standing may get a new pin: not drained, dead or disabled. */
export function takesPin(s: Standing): boolean {
  return s === Standing.Usable || s === Standing.Grey;
}

/** One destination's targets in failover order, and whether targets[0] is the honoured pin. */
export interface Ordered {
  targets: Target[];
  /** The standing of each entry of targets. */
  standings: Standing[];
  /** True when targets[0] is the destination's pin (honoured). */
  pinned: boolean;
  /** True when the pin's target was among the targets given (honoured or not). */
  pinListed: boolean;
}

/**
 * Orders targets (given in RFC 3263 order) by standing, the honoured pin first; marked targets carry their mark.
 * Disabled targets come last: failover() reaches them only when every other target was tried; locate() lists
 * them only when all are disabled (listed()).
 */
export function orderTargets(targets: readonly Target[], facts: TargetFacts, pin?: TargetKey): Ordered {
  if (facts.empty && !pin)
    return { targets: [...targets], standings: targets.map(() => Standing.Usable), pinned: false, pinListed: false };
  const buckets: Array<Array<{ t: Target; s: Standing }>> = [[], [], [], [], []];
  let pinnedAt: { t: Target; s: Standing } | undefined;
  let pinListed = false;
  for (const t of targets) {
    const s = facts.empty ? Standing.Usable : standingOf(facts, t);
    const mark = facts.empty ? undefined : facts.mark(t);
    const entry = { t: mark && s !== Standing.Disabled ? { ...t, mark } : t, s };
    const isPin = pin !== undefined && !pinListed && sameTarget(t, pin);
    if (isPin) pinListed = true;
    if (isPin && honoursPin(s)) pinnedAt = entry;
    else buckets[s]!.push(entry);
  }
  const all = [...(pinnedAt ? [pinnedAt] : []), ...buckets.flat()];
  return { targets: all.map((e) => e.t), standings: all.map((e) => e.s), pinned: pinnedAt !== undefined, pinListed };
}

/** `targets` in the order of `drawn` (a fresh RFC 3263 draw); targets the draw lacks follow in their own order. */
export function inDrawnOrder(targets: readonly Target[], drawn: readonly Target[]): Target[] {
  const position = new Map<string, number>();
  drawn.forEach((t, i) => position.set(targetId(t), i));
  const at = (t: Target): number => position.get(targetId(t)) ?? drawn.length;
  return targets
    .map((t, i) => ({ t, i, p: at(t) }))
    .sort((a, b) => a.p - b.p || a.i - b.i)
    .map((e) => e.t);
}

/** What locate() lists: the order without its disabled targets, unless every target is disabled. */
export function listed(order: Ordered): Target[] {
  const n = order.standings.indexOf(Standing.Disabled);
  return n <= 0 ? order.targets : order.targets.slice(0, n);
}

/** The first target of an order not in `tried` (the next one to try), with its standing; undefined when none is left. */
export function nextUntried(
  order: Ordered,
  tried: readonly TargetKey[],
): { target: Target; standing: Standing } | undefined {
  for (let i = 0; i < order.targets.length; i++) {
    const t = order.targets[i]!;
    if (!tried.some((k) => sameTarget(k, t))) return { target: t, standing: order.standings[i]! };
  }
  return undefined;
}

/**
 * Failback: the index in `order` of the target a pin at `pinnedIndex` should move to, or undefined. Only a usable
 * target that probing found up and that ranks above the pinned one by DNS alone (NAPTR order, SRV priority) qualifies.
 */
export function failbackIndex(plan: Plan, order: Ordered, pinnedIndex: number, facts: TargetFacts): number | undefined {
  let bestRank = rankIn(plan, order.targets[pinnedIndex]!);
  let best: number | undefined;
  for (let i = 0; i < order.targets.length; i++) {
    const t = order.targets[i]!;
    const rank = rankIn(plan, t);
    if (rank < bestRank && order.standings[i] === Standing.Usable && facts.health(t) === 'up') {
      bestRank = rank;
      best = i;
    }
  }
  return best;
}

const ranksByPlan = new WeakMap<Plan, Map<string, number>>();

function rankKey(transport: string, host: string, port: number): string {
  return `${transport}|${host}|${port}`;
}

/** The ranks of a plan's targets by transport, host and port: lower is better; equal for one SRV priority. */
function ranksOf(plan: Plan): Map<string, number> {
  const known = ranksByPlan.get(plan);
  if (known) return known;
  const ranks = new Map<string, number>();
  let rank = 0;
  for (const entry of plan.entries) {
    if (entry.kind === 'address') {
      const k = rankKey(entry.transport, entry.host, entry.port);
      if (!ranks.has(k)) ranks.set(k, rank);
      rank++;
      continue;
    }
    const priorities = [...new Set(entry.srv.map((s) => s.priority))].sort((a, b) => a - b);
    for (const p of priorities) {
      for (const s of entry.srv) {
        if (s.priority !== p) continue;
        const k = rankKey(entry.transport, s.target, s.port);
        if (!ranks.has(k)) ranks.set(k, rank);
      }
      rank++;
    }
  }
  ranksByPlan.set(plan, ranks);
  return ranks;
}

/** The rank of one target in a plan by DNS alone (lower is better; Infinity when the plan does not list it). */
export function rankIn(plan: Plan, t: Pick<Target, 'transport' | 'host' | 'port'>): number {
  return ranksOf(plan).get(rankKey(t.transport, t.host, t.port)) ?? Infinity;
}
