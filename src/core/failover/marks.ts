import type { Clock, Failure, MarkRecord, TargetKey } from '../types';
import { ExpiryHeap } from './expiry-heap';
import { targetId } from '../target';

/** A grey mark (tried last) or a black mark (skipped while others remain), with its expiry. */
export type Mark = MarkRecord;

/** True when `next` should not replace `old`: a live black mark is neither turned grey nor shortened. */
export function weakerMark(next: Mark, old: Mark | undefined): boolean {
  return old !== undefined && old.mark === 'black' && (next.mark === 'grey' || old.expiresAt > next.expiresAt);
}

/** A kept mark and its slot in the expiry heap. */
class MarkEntry implements Mark {
  heapIndex = -1;
  /** Made by a report from outside the flow (its own bound; never evicts the flow's marks). */
  report = false;
  constructor(
    readonly key: string,
    readonly transport: Mark['transport'],
    readonly address: string,
    readonly port: number,
    public mark: Mark['mark'],
    public expiresAt: number,
  ) {}

  /** A copy that carries only the record's fields. */
  record(): Mark {
    return {
      transport: this.transport,
      address: this.address,
      port: this.port,
      mark: this.mark,
      expiresAt: this.expiresAt,
    };
  }
}

/** How long marks last: greylistSeconds for a grey mark; maxBlacklistSeconds caps the Retry-After of a black one. */
export interface MarkLifetimes {
  greylistSeconds: number;
  maxBlacklistSeconds: number;
}

/** The mark a failure makes at `now`: black for a 503 with Retry-After (for at most maxBlacklistSeconds), grey otherwise. */
export function markFor(t: TargetKey, failure: Failure, now: number, life: MarkLifetimes): Mark {
  const retry =
    failure.reason === '503' &&
    typeof failure.retryAfter === 'number' &&
    Number.isFinite(failure.retryAfter) &&
    failure.retryAfter > 0
      ? failure.retryAfter
      : undefined;
  const { transport, address, port } = t;
  return retry !== undefined
    ? { transport, address, port, mark: 'black', expiresAt: now + Math.min(retry, life.maxBlacklistSeconds) * 1000 }
    : { transport, address, port, mark: 'grey', expiresAt: now + life.greylistSeconds * 1000 };
}

/**
 * Failure marks with expiry: at most `max`, the soonest-expiring one evicted first; expired ones dropped on read and
 * by sweep(). Marks made by reports from outside the flow are at most `maxReport`, the oldest evicted first, and are
 * evicted before any of the flow's marks; a report never evicts a mark the flow made.
 */
export class Marks {
  private readonly map = new Map<string, MarkEntry>();
  private readonly heap = new ExpiryHeap<MarkEntry>();
  /** The marks reports made, oldest first. */
  private readonly reported = new Set<MarkEntry>();

  /**
   * greylistSeconds: how long transport errors and timeouts mark; maxBlacklistSeconds: cap on Retry-After;
   * max: most marks kept; onEvict: told about each mark dropped to keep that bound.
   */
  constructor(
    private readonly clock: Clock,
    private readonly greylistSeconds: number,
    private readonly maxBlacklistSeconds: number,
    private readonly max: number = Infinity,
    private readonly onEvict: (mark: Mark) => void = () => undefined,
    private readonly maxReport: number = max,
  ) {}

  /** Number of marks held (expired ones not yet swept included). */
  get size(): number {
    return this.map.size;
  }

  /** Marks a target: black for a 503 with Retry-After, grey otherwise; returns the mark now in force and whether it changed. */
  mark(t: TargetKey, failure: Failure, fromReport = false): { mark: Mark; changed: boolean } {
    const life = { greylistSeconds: this.greylistSeconds, maxBlacklistSeconds: this.maxBlacklistSeconds };
    return this.put(markFor(t, failure, this.clock.now(), life), fromReport);
  }

  /** Takes a mark made elsewhere, under the same rule as mark(): a black mark is not weakened. */
  put(next: Mark, fromReport = false): { mark: Mark; changed: boolean } {
    const old = this.live(next);
    if (old && weakerMark(next, old)) return { mark: old.record(), changed: false };
    if (next.expiresAt <= this.clock.now()) return { mark: next, changed: false };
    if (old) {
      old.mark = next.mark;
      old.expiresAt = next.expiresAt;
      this.heap.update(old);
      // The flow confirming a report's mark makes it the flow's.
      if (old.report && !fromReport) {
        old.report = false;
        this.reported.delete(old);
      }
      return { mark: old.record(), changed: true };
    }
    if (fromReport) {
      while (this.reported.size >= this.maxReport) this.evictReported();
      // Full of the flow's marks: a report marks nothing rather than evict one.
      if (this.map.size >= this.max && this.reported.size === 0) return { mark: next, changed: false };
    }
    while (this.map.size >= this.max) {
      if (this.reported.size > 0) this.evictReported();
      else this.evict();
    }
    const key = targetId(next);
    const own = new MarkEntry(key, next.transport, next.address, next.port, next.mark, next.expiresAt);
    this.map.set(key, own);
    this.heap.push(own);
    if (fromReport) {
      own.report = true;
      this.reported.add(own);
    }
    return { mark: own.record(), changed: true };
  }

  /** How many marks reports made (held, expired ones not yet swept included). */
  get reportedSize(): number {
    return this.reported.size;
  }

  /** Removes a grey mark (a success proves the target works); black marks stay until they expire. True when one was removed. */
  clearGrey(t: TargetKey): boolean {
    const m = this.live(t);
    if (!m || m.mark !== 'grey') return false;
    this.drop(m);
    return true;
  }

  /** Removes a target's mark when it is due by `deadline` (a store saw it expire). */
  expire(t: TargetKey, deadline: number): void {
    const m = this.map.get(targetId(t));
    if (m && m.expiresAt <= deadline) this.drop(m);
  }

  /** The live mark of a target, if any (read-only: do not change the returned object). */
  get(t: TargetKey): Mark | undefined {
    return this.live(t);
  }

  private live(t: TargetKey): MarkEntry | undefined {
    if (this.map.size === 0) return undefined;
    const m = this.map.get(targetId(t));
    if (m && m.expiresAt <= this.clock.now()) {
      this.drop(m);
      return undefined;
    }
    return m;
  }

  /** All live marks. */
  list(): Mark[] {
    const now = this.clock.now();
    const out: Mark[] = [];
    for (const m of this.map.values()) if (m.expiresAt > now) out.push(m.record());
    return out;
  }

  /** Drops up to `limit` expired marks, soonest first; returns how many it dropped. */
  sweep(limit: number): number {
    return this.heap.dropExpired(this.clock.now(), limit, (m) => this.drop(m));
  }

  /** Drops every mark. */
  clear(): void {
    this.map.clear();
    this.heap.clear();
    this.reported.clear();
  }

  /** Drops the oldest mark a report made and reports it. */
  private evictReported(): void {
    const m = this.reported.values().next().value;
    if (!m) return;
    this.drop(m);
    this.onEvict(m.record());
  }

  /** Drops the mark that expires first and reports it. */
  private evict(): void {
    const m = this.heap.peek();
    if (!m) return;
    this.drop(m);
    this.onEvict(m.record());
  }

  private drop(m: MarkEntry): void {
    this.map.delete(m.key);
    this.heap.remove(m);
    if (m.report) this.reported.delete(m);
  }
}
