import type { Target, TargetKey } from '../types';
import { targetKeyOf } from './marks';

/** A destination's sticky server. */
export interface Pin {
  destination: string;
  target: Target;
  pinnedAt: number;
}

/** Sticky pins (reSIProcate's DNS VIP as an overlay): destination -> the target to use first. */
export class Pins {
  private readonly byDestination = new Map<string, Pin>();

  /** The pin of a destination. */
  get(destination: string): Pin | undefined {
    return this.byDestination.get(destination);
  }

  /** Pins a target for a destination (replacing any earlier pin). */
  set(destination: string, target: Target, now: number): void {
    this.byDestination.set(destination, { destination, target, pinnedAt: now });
  }

  /** Removes a destination's pin. */
  delete(destination: string): void {
    this.byDestination.delete(destination);
  }

  /** Removes every pin that points at the target; returns how many. */
  unpinTarget(t: TargetKey): number {
    if (this.byDestination.size === 0) return 0;
    const key = targetKeyOf(t);
    let n = 0;
    for (const [dest, pin] of this.byDestination) {
      if (targetKeyOf(pin.target) === key) {
        this.byDestination.delete(dest);
        n++;
      }
    }
    return n;
  }

  /** All pins. */
  list(): Pin[] {
    return [...this.byDestination.values()].map((p) => ({ ...p, target: { ...p.target } }));
  }

  /** Drops every pin. */
  clear(): void {
    this.byDestination.clear();
  }
}
