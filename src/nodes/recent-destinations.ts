/** The destinations a resolver located recently, newest first, with their last failover order (bounded). */
import type { TargetKey } from '../core/types';

/** One destination as the sidebar shows it: its key, the targets of its last locate in order, and when. */
export interface RecentDestination {
  destination: string;
  targets: Array<TargetKey & { host?: string }>;
  at: number;
}

/** Default number of destinations kept. */
export const RECENT_DESTINATIONS = 50;
/** Most targets kept per destination. */
const MAX_TARGETS = 32;

/** A bounded most-recently-located list; the oldest destination goes when a new one would exceed the limit. */
export class RecentDestinations {
  private readonly entries = new Map<string, RecentDestination>();

  constructor(private readonly limit = RECENT_DESTINATIONS) {}

  /** Records a locate result; true when the list changed in a way the sidebar shows (new destination or new order). */
  record(destination: string, targets: ReadonlyArray<TargetKey & { host?: string }>, at: number): boolean {
    const old = this.entries.get(destination);
    this.entries.delete(destination);
    if (old && sameOrder(old.targets, targets)) {
      // The common case on the locate path: no copy, only the recency moves.
      old.at = at;
      this.entries.set(destination, old);
      return false;
    }
    const kept = targets.slice(0, MAX_TARGETS).map((t) => ({
      transport: t.transport,
      address: t.address,
      port: t.port,
      ...(t.host !== undefined ? { host: t.host } : {}),
    }));
    this.entries.set(destination, { destination, targets: kept, at });
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
    return true;
  }

  /** Newest first. */
  list(): RecentDestination[] {
    return [...this.entries.values()].reverse();
  }

  /** How many destinations are held. */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets every destination (reset). */
  clear(): void {
    this.entries.clear();
  }
}

/** True when a kept order lists the same targets as the first MAX_TARGETS of a new one. */
function sameOrder(
  kept: ReadonlyArray<TargetKey & { host?: string }>,
  next: ReadonlyArray<TargetKey & { host?: string }>,
): boolean {
  if (kept.length !== Math.min(next.length, MAX_TARGETS)) return false;
  for (let i = 0; i < kept.length; i++) {
    const a = kept[i]!;
    const b = next[i]!;
    if (a.port !== b.port || a.address !== b.address || a.transport !== b.transport || a.host !== b.host) return false;
  }
  return true;
}
