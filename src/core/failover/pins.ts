import type { Clock, PinRecord, Target, TargetKey } from '../types';
import { ExpiryHeap } from './expiry-heap';
import { withAddressing } from '../target';

/** A destination's sticky server, with when it was pinned and when the pin lapses unless used. */
export type Pin = PinRecord;

/** A kept pin, read-only: the target's fields inline (one object per pin, not two), the full target on demand. */
export interface LivePin extends TargetKey {
  readonly destination: string;
  readonly pinnedAt: number;
  readonly expiresAt: number;
  /** The pinned target as a new object. */
  target(): Target;
}

/** A kept pin with its slot in the expiry heap and its neighbours among the pins on the same address. */
class PinEntry implements LivePin {
  heapIndex = -1;
  prev: PinEntry | undefined = undefined;
  next: PinEntry | undefined = undefined;
  readonly transport: Target['transport'];
  readonly address: string;
  readonly port: number;
  private readonly family: Target['family'];
  private readonly host: string;
  private readonly source: Target['source'];
  private readonly ttl: number;

  /** sameAddress: a pin on the same address, whose strings this one shares. */
  constructor(
    readonly destination: string,
    t: Target,
    readonly pinnedAt: number,
    public expiresAt: number,
    sameAddress?: PinEntry,
  ) {
    this.transport = t.transport;
    this.address = sameAddress ? sameAddress.address : flat(t.address);
    this.port = t.port;
    this.family = t.family;
    this.host = sameAddress?.host === t.host ? sameAddress.host : t.host === t.address ? this.address : flat(t.host);
    this.source = t.source;
    this.ttl = t.ttl;
  }

  target(): Target {
    return withAddressing({
      transport: this.transport,
      address: this.address,
      port: this.port,
      family: this.family,
      host: this.host,
      source: this.source,
      ttl: this.ttl,
    });
  }

  /** A copy that carries only the record's fields. */
  record(): Pin {
    return { destination: this.destination, target: this.target(), pinnedAt: this.pinnedAt, expiresAt: this.expiresAt };
  }
}

/**
 * An independent flat copy of a string: a kept pin then holds neither the parts of a concatenated string nor the
 * whole of the string a short one was sliced from (over 100 bytes a pin at 100,000 pins).
 */
function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** True when a pin points at the target. */
function pointsAt(e: PinEntry, t: TargetKey): boolean {
  return e.address === t.address && e.port === t.port && e.transport === t.transport;
}

/**
 * Sticky pins (reSIProcate's DNS VIP as an overlay): destination -> the target to use first. Pins lapse after
 * pinSeconds unused; at most `max` are kept, the least recently used evicted first. Pins are indexed by address,
 * so unpinning a target costs what that target has.
 */
export class Pins {
  /** In least-recently-used-first order. */
  private readonly byDestination = new Map<string, PinEntry>();
  /** The first pin of each address; the others follow through `next`. */
  private readonly byAddress = new Map<string, PinEntry>();
  private readonly heap = new ExpiryHeap<PinEntry>();

  /** lifetimeMs: how long a pin lasts from when it was set or last renewed; max: most pins kept; onEvict: told about each pin dropped to keep that bound. */
  constructor(
    private readonly clock: Clock,
    readonly lifetimeMs: number,
    private readonly max: number = Infinity,
    private readonly onEvict: (pin: Pin) => void = () => undefined,
  ) {}

  /** Number of pins held (expired ones not yet swept included). */
  get size(): number {
    return this.byDestination.size;
  }

  /** The live pin of a destination, without counting it as a use (read-only: do not change the returned object). */
  get(destination: string): LivePin | undefined {
    if (this.byDestination.size === 0) return undefined;
    const pin = this.byDestination.get(destination);
    if (pin && pin.expiresAt <= this.clock.now()) {
      this.drop(pin);
      return undefined;
    }
    return pin;
  }

  /** Counts a use of the destination's pin, so it is evicted last. */
  touch(destination: string): void {
    const pin = this.byDestination.get(destination);
    if (!pin) return;
    this.byDestination.delete(destination);
    this.byDestination.set(destination, pin);
  }

  /** Pins a target for a destination (replacing any earlier pin); returns the new pin. */
  set(destination: string, target: Target): Pin {
    const now = this.clock.now();
    return this.store(destination, target, now, now + this.lifetimeMs).record();
  }

  /** Takes a pin made elsewhere; false when it has already lapsed. */
  put(pin: Pin): boolean {
    if (pin.expiresAt <= this.clock.now()) return false;
    this.store(pin.destination, pin.target, pin.pinnedAt, pin.expiresAt);
    return true;
  }

  /** Removes a destination's pin; with `target`, only when the pin points at it. True when one was removed. */
  delete(destination: string, target?: TargetKey): boolean {
    const pin = this.byDestination.get(destination);
    if (!pin || (target && !pointsAt(pin, target))) return false;
    this.drop(pin);
    return true;
  }

  /** Removes a destination's pin when it is due by `deadline` (a store saw it expire). */
  expire(destination: string, deadline: number): void {
    const pin = this.byDestination.get(destination);
    if (pin && pin.expiresAt <= deadline) this.drop(pin);
  }

  /** Removes every pin that points at the target; returns their destinations. */
  unpinTarget(t: TargetKey): string[] {
    const out: string[] = [];
    for (let e = this.byAddress.get(t.address); e;) {
      const next = e.next;
      if (pointsAt(e, t)) {
        this.drop(e);
        out.push(e.destination);
      }
      e = next;
    }
    return out;
  }

  /** All live pins. */
  list(): Pin[] {
    const now = this.clock.now();
    const out: Pin[] = [];
    for (const p of this.byDestination.values()) if (p.expiresAt > now) out.push(p.record());
    return out;
  }

  /** Drops up to `limit` expired pins, soonest first; returns how many it dropped. */
  sweep(limit: number): number {
    return this.heap.dropExpired(this.clock.now(), limit, (p) => this.drop(p));
  }

  /** Drops every pin. */
  clear(): void {
    this.byDestination.clear();
    this.byAddress.clear();
    this.heap.clear();
  }

  /** Sets a destination's pin as the most recently used one, evicting the least recently used beyond the bound. */
  private store(destination: string, target: Target, pinnedAt: number, expiresAt: number): PinEntry {
    const old = this.byDestination.get(destination);
    if (old) this.drop(old);
    while (this.byDestination.size >= this.max) this.evict();
    const head = this.byAddress.get(target.address);
    const e = new PinEntry(old ? old.destination : flat(destination), target, pinnedAt, expiresAt, head);
    this.byDestination.set(e.destination, e);
    this.heap.push(e);
    if (head) {
      e.next = head;
      head.prev = e;
    }
    this.byAddress.set(e.address, e);
    return e;
  }

  /** Drops the least recently used pin and reports it. */
  private evict(): void {
    const first = this.byDestination.values().next();
    if (first.done) return;
    this.drop(first.value);
    this.onEvict(first.value.record());
  }

  private drop(e: PinEntry): void {
    if (this.byDestination.get(e.destination) !== e) return;
    this.byDestination.delete(e.destination);
    this.heap.remove(e);
    if (e.prev) e.prev.next = e.next;
    else if (e.next) this.byAddress.set(e.address, e.next);
    else this.byAddress.delete(e.address);
    if (e.next) e.next.prev = e.prev;
    e.prev = e.next = undefined;
  }
}
