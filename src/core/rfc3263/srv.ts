import type { SrvData } from '../dns/types';

/** Most SRV records considered from one RRset (more are ignored, never an error). */
export const MAX_SRV = 64;

/**
 * RFC 2782 order: by priority; inside a priority, weighted random selection with r drawn in [1..sum]
 * over the non-zero weights, then the weight-0 records in DNS order. "." targets are left out.
 */
export function orderSrv(records: readonly SrvData[], random: () => number): SrvData[] {
  const live = records.slice(0, MAX_SRV).filter((r) => r.target !== '.');
  const priorities = [...new Set(live.map((r) => r.priority))].sort((a, b) => a - b);
  const out: SrvData[] = [];
  for (const p of priorities) {
    const group = live.filter((r) => r.priority === p);
    const weighted = group.filter((r) => r.weight > 0);
    while (weighted.length > 0) {
      let sum = 0;
      for (const r of weighted) sum += r.weight;
      const draw = 1 + Math.min(sum - 1, Math.floor(random() * sum));
      let running = 0;
      let index = 0;
      for (; index < weighted.length; index++) {
        running += weighted[index]!.weight;
        if (running >= draw) break;
      }
      out.push(weighted.splice(Math.min(index, weighted.length - 1), 1)[0]!);
    }
    for (const r of group) if (r.weight <= 0) out.push(r);
  }
  return out;
}

/** True when every record of the set says "service not offered" (target "."). */
export function isServiceRefused(records: readonly SrvData[]): boolean {
  return records.length > 0 && records.every((r) => r.target === '.');
}
