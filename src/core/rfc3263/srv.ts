import type { SrvData } from '../dns/types';
import { orderByKey } from './affinity';

/** Most SRV records considered from one RRset (more are ignored, never an error). */
export const MAX_SRV = 64;

/** How to order items of one priority: by the random weighted draw, or (an affinity key) by rendezvous hashing. */
export interface Draw {
  random: () => number;
  /** The affinity key: the order within a priority is orderByKey(key, id) instead of the random draw. */
  key?: string;
}

/**
 * Items in RFC 2782 order: by priority; inside a priority, weighted random selection with r drawn in [1..sum] over the
 * non-zero weights, then the weight-0 items in given order. With draw.key, inside a priority the order is weighted
 * rendezvous hashing of (key, idOf(item)) instead (weight-0 items still last). The one weighted draw: SRV records and
 * destination set members both go through it.
 */
export function orderWeighted<T>(
  items: readonly T[],
  priorityOf: (item: T) => number,
  weightOf: (item: T) => number,
  draw: Draw,
  idOf: (item: T) => string,
): T[] {
  const priorities = [...new Set(items.map(priorityOf))].sort((a, b) => a - b);
  const out: T[] = [];
  for (const p of priorities) {
    const group = items.filter((r) => priorityOf(r) === p);
    if (draw.key !== undefined) {
      out.push(...orderByKey(group, draw.key, idOf, weightOf));
      continue;
    }
    const weighted = group.filter((r) => weightOf(r) > 0);
    while (weighted.length > 0) {
      let sum = 0;
      for (const r of weighted) sum += weightOf(r);
      const pick = 1 + Math.min(sum - 1, Math.floor(draw.random() * sum));
      let running = 0;
      let index = 0;
      for (; index < weighted.length; index++) {
        running += weightOf(weighted[index]!);
        if (running >= pick) break;
      }
      out.push(weighted.splice(Math.min(index, weighted.length - 1), 1)[0]!);
    }
    for (const r of group) if (weightOf(r) <= 0) out.push(r);
  }
  return out;
}

/** The identity of an SRV record that affinity keys hash: `host:port`, the same on every instance whatever the addresses. */
export function srvId(r: SrvData): string {
  return `${r.target}:${r.port}`;
}

/**
 * RFC 2782 order of an SRV RRset (see orderWeighted); "." targets are left out. With a key, records of one priority
 * are ordered by rendezvous hashing of (key, host:port).
 */
export function orderSrv(records: readonly SrvData[], random: () => number, key?: string): SrvData[] {
  const live = records.slice(0, MAX_SRV).filter((r) => r.target !== '.');
  return orderWeighted(
    live,
    (r) => r.priority,
    (r) => r.weight,
    key === undefined ? { random } : { random, key },
    srvId,
  );
}

/** True when every record of the set says "service not offered" (target "."). */
export function isServiceRefused(records: readonly SrvData[]): boolean {
  return records.length > 0 && records.every((r) => r.target === '.');
}
