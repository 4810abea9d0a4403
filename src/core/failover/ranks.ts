/** How good each target of a plan is by DNS alone (NAPTR order, then SRV priority), for failback. */
import type { Plan } from '../rfc3263/plan';
import type { Target } from '../types';

const byPlan = new WeakMap<Plan, Map<string, number>>();

function rankKey(transport: string, host: string, port: number): string {
  return `${transport}|${host}|${port}`;
}

/** The ranks of a plan's targets by transport, host and port: lower is better; equal for one SRV priority. */
function ranksOf(plan: Plan): Map<string, number> {
  const known = byPlan.get(plan);
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
  byPlan.set(plan, ranks);
  return ranks;
}

/** The rank of one target in a plan (lower is better; Infinity when the plan does not list it). */
export function rankIn(plan: Plan, t: Pick<Target, 'transport' | 'host' | 'port'>): number {
  return ranksOf(plan).get(rankKey(t.transport, t.host, t.port)) ?? Infinity;
}
