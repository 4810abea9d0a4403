/** The targets a sip-options node confirmed lately, so a warm lookup can skip the probe (skipIfConfirmedWithin). */

/** Most targets one node remembers. */
export const MAX_CONFIRMED = 10_000;

/** Target keys with the time each was last confirmed; the oldest is dropped beyond `limit`. */
export class RecentlyConfirmed {
  private readonly at = new Map<string, number>();

  /** windowMs: how long a confirmation counts (0: never); limit: most keys kept. */
  constructor(
    private readonly windowMs: number,
    private readonly limit = MAX_CONFIRMED,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes that `key` answered just now. */
  confirm(key: string): void {
    if (this.windowMs <= 0) return;
    this.at.delete(key);
    this.at.set(key, this.now());
    if (this.at.size > this.limit) this.at.delete(this.at.keys().next().value as string);
  }

  /** Forgets `key` (it failed). */
  forget(key: string): void {
    this.at.delete(key);
  }

  /** True when `key` was confirmed within the window. */
  fresh(key: string): boolean {
    const t = this.at.get(key);
    if (t === undefined) return false;
    if (this.now() - t < this.windowMs) return true;
    this.at.delete(key);
    return false;
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.at.size;
  }
}
