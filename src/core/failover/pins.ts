import type { Clock, PinRecord, Target, TargetKey } from '../types';
import { targetKeyOf } from './marks';

/** A destination's sticky server, with when it was pinned and when the pin lapses unless used. */
export type Pin = PinRecord;

/** Sticky pins (reSIProcate's DNS VIP as an overlay): destination -> the target to use first. Pins lapse after pinSeconds unused. */
export class Pins {
  private readonly byDestination = new Map<string, Pin>();

  /** lifetimeMs: how long a pin lasts from when it was set or last renewed. */
  constructor(private readonly clock: Clock, readonly lifetimeMs: number) {}

  /** The live pin of a destination. */
  get(destination: string): Pin | undefined {
    if (this.byDestination.size === 0) return undefined;
    const pin = this.byDestination.get(destination);
    if (pin && pin.expiresAt <= this.clock.now()) {
      this.byDestination.delete(destination);
      return undefined;
    }
    return pin;
  }

  /** Pins a target for a destination (replacing any earlier pin); returns the new pin. */
  set(destination: string, target: Target): Pin {
    const now = this.clock.now();
    const pin: Pin = { destination, target, pinnedAt: now, expiresAt: now + this.lifetimeMs };
    this.byDestination.set(destination, pin);
    return pin;
  }

  /** Takes a pin made elsewhere; false when it has already lapsed. */
  put(pin: Pin): boolean {
    if (pin.expiresAt <= this.clock.now()) return false;
    this.byDestination.set(pin.destination, { destination: pin.destination, target: { ...pin.target }, pinnedAt: pin.pinnedAt, expiresAt: pin.expiresAt });
    return true;
  }

  /** Removes a destination's pin; with `target`, only when the pin points at it. True when one was removed. */
  delete(destination: string, target?: TargetKey): boolean {
    const pin = this.byDestination.get(destination);
    if (!pin || (target && targetKeyOf(pin.target) !== targetKeyOf(target))) return false;
    this.byDestination.delete(destination);
    return true;
  }

  /** Removes a destination's pin when it is due by `deadline` (a store saw it expire). */
  expire(destination: string, deadline: number): void {
    const pin = this.byDestination.get(destination);
    if (pin && pin.expiresAt <= deadline) this.byDestination.delete(destination);
  }

  /** Removes every pin that points at the target; returns their destinations. */
  unpinTarget(t: TargetKey): string[] {
    if (this.byDestination.size === 0) return [];
    const key = targetKeyOf(t);
    const out: string[] = [];
    for (const [dest, pin] of this.byDestination) {
      if (targetKeyOf(pin.target) === key) {
        this.byDestination.delete(dest);
        out.push(dest);
      }
    }
    return out;
  }

  /** All live pins. */
  list(): Pin[] {
    const now = this.clock.now();
    const out: Pin[] = [];
    for (const [dest, p] of this.byDestination) {
      if (p.expiresAt <= now) this.byDestination.delete(dest);
      else out.push({ ...p, target: { ...p.target } });
    }
    return out;
  }

  /** Drops every pin. */
  clear(): void {
    this.byDestination.clear();
  }
}
