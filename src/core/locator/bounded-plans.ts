/** Last good plans by destination, bounded in entries and in bytes: what a shared store may send is never more than that. */
import { planRecordBytes } from '../rfc3263/plan-record';
import type { PlanRecord } from '../types';

/** One saved plan with its size. */
interface Held<T> {
  value: T;
  bytes: number;
}

/** A map of saved plans, least recently kept first; beyond `maxEntries` or `maxBytes` the oldest are dropped. */
export class BoundedPlans<T extends { record: PlanRecord }> {
  private readonly map = new Map<string, Held<T>>();
  private total = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  /** How many plans are held. */
  get size(): number {
    return this.map.size;
  }

  /** Bytes of the plans held. */
  get bytes(): number {
    return this.total;
  }

  get(destination: string): T | undefined {
    return this.map.get(destination)?.value;
  }

  /** Keeps `value` as the most recent plan of `destination`, then drops the oldest plans beyond the bounds (a plan alone above maxBytes is not kept). */
  set(destination: string, value: T): void {
    this.delete(destination);
    const bytes = planRecordBytes(value.record);
    if (bytes > this.maxBytes || this.maxEntries === 0) return;
    this.map.set(destination, { value, bytes });
    this.total += bytes;
    while (this.map.size > this.maxEntries || this.total > this.maxBytes)
      this.delete(this.map.keys().next().value as string);
  }

  delete(destination: string): void {
    const held = this.map.get(destination);
    if (!held) return;
    this.map.delete(destination);
    this.total -= held.bytes;
  }

  /** The plans held, oldest first. */
  *values(): IterableIterator<T> {
    for (const h of this.map.values()) yield h.value;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}
