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
    const kept = targets.slice(0, MAX_TARGETS).map((t) => ({ transport: t.transport, address: t.address, port: t.port, ...(t.host !== undefined ? { host: t.host } : {}) }));
    const old = this.entries.get(destination);
    const same = old !== undefined && JSON.stringify(old.targets) === JSON.stringify(kept);
    this.entries.delete(destination);
    this.entries.set(destination, { destination, targets: kept, at });
    while (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string);
    return !same;
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
