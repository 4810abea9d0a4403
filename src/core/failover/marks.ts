import type { Clock, Failure, MarkRecord, TargetKey } from '../types';

/** A grey mark (tried last) or a black mark (skipped while others remain), with its expiry. */
export type Mark = MarkRecord;

/** The map key of a target. */
export function targetKeyOf(t: TargetKey): string {
  return `${t.transport}|${t.address}|${t.port}`;
}

/** True when `next` should not replace `old`: a live black mark is neither turned grey nor shortened. */
export function weakerMark(next: Mark, old: Mark | undefined): boolean {
  return old !== undefined && old.mark === 'black' && (next.mark === 'grey' || old.expiresAt > next.expiresAt);
}

/** Failure marks with expiry, checked lazily on read. */
export class Marks {
  private readonly map = new Map<string, Mark>();

  /** greylistSeconds: how long transport errors and timeouts mark; maxBlacklistSeconds: cap on Retry-After. */
  constructor(
    private readonly clock: Clock,
    private readonly greylistSeconds: number,
    private readonly maxBlacklistSeconds: number,
  ) {}

  /** Marks a target: black for a 503 with Retry-After, grey otherwise; returns the mark now in force and whether it changed. */
  mark(t: TargetKey, failure: Failure): { mark: Mark; changed: boolean } {
    const now = this.clock.now();
    const retry = failure.reason === '503' && typeof failure.retryAfter === 'number' && Number.isFinite(failure.retryAfter) && failure.retryAfter > 0 ? failure.retryAfter : undefined;
    const next: Mark = retry !== undefined
      ? { transport: t.transport, address: t.address, port: t.port, mark: 'black', expiresAt: now + Math.min(retry, this.maxBlacklistSeconds) * 1000 }
      : { transport: t.transport, address: t.address, port: t.port, mark: 'grey', expiresAt: now + this.greylistSeconds * 1000 };
    return this.put(next);
  }

  /** Takes a mark made elsewhere, under the same rule as mark(): a black mark is not weakened. */
  put(next: Mark): { mark: Mark; changed: boolean } {
    const old = this.get(next);
    if (weakerMark(next, old)) return { mark: old!, changed: false };
    if (next.expiresAt <= this.clock.now()) return { mark: next, changed: false };
    const own: Mark = { transport: next.transport, address: next.address, port: next.port, mark: next.mark, expiresAt: next.expiresAt };
    this.map.set(targetKeyOf(own), own);
    return { mark: own, changed: true };
  }

  /** Removes a grey mark (a success proves the target works); black marks stay until they expire. True when one was removed. */
  clearGrey(t: TargetKey): boolean {
    const m = this.get(t);
    if (!m || m.mark !== 'grey') return false;
    this.map.delete(targetKeyOf(t));
    return true;
  }

  /** Removes a target's mark when it is due by `deadline` (a store saw it expire). */
  expire(t: TargetKey, deadline: number): void {
    const m = this.map.get(targetKeyOf(t));
    if (m && m.expiresAt <= deadline) this.map.delete(targetKeyOf(t));
  }

  /** The live mark of a target, if any. */
  get(t: TargetKey): Mark | undefined {
    if (this.map.size === 0) return undefined;
    const key = targetKeyOf(t);
    const m = this.map.get(key);
    if (m && m.expiresAt <= this.clock.now()) {
      this.map.delete(key);
      return undefined;
    }
    return m;
  }

  /** All live marks. */
  list(): Mark[] {
    const now = this.clock.now();
    const out: Mark[] = [];
    for (const [key, m] of this.map) {
      if (m.expiresAt <= now) this.map.delete(key);
      else out.push({ ...m });
    }
    return out;
  }

  /** Drops every mark. */
  clear(): void {
    this.map.clear();
  }
}
