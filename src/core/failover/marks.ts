import type { Clock, Failure, TargetKey, Transport } from '../types';

/** A grey mark (tried last) or a black mark (skipped while others remain), with its expiry. */
export interface Mark {
  transport: Transport;
  address: string;
  port: number;
  mark: 'grey' | 'black';
  expiresAt: number;
}

/** The map key of a target. */
export function targetKeyOf(t: TargetKey): string {
  return `${t.transport}|${t.address}|${t.port}`;
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

  /** Marks a target: black for a 503 with Retry-After, grey otherwise. A black mark is not shortened by a grey one. */
  mark(t: TargetKey, failure: Failure): Mark {
    const now = this.clock.now();
    const retry = failure.reason === '503' && typeof failure.retryAfter === 'number' && Number.isFinite(failure.retryAfter) && failure.retryAfter > 0 ? failure.retryAfter : undefined;
    const next: Mark = retry !== undefined
      ? { transport: t.transport, address: t.address, port: t.port, mark: 'black', expiresAt: now + Math.min(retry, this.maxBlacklistSeconds) * 1000 }
      : { transport: t.transport, address: t.address, port: t.port, mark: 'grey', expiresAt: now + this.greylistSeconds * 1000 };
    const key = targetKeyOf(t);
    const old = this.get(t);
    if (old && old.mark === 'black' && (next.mark === 'grey' || old.expiresAt > next.expiresAt)) return old;
    this.map.set(key, next);
    return next;
  }

  /** Removes a grey mark (a success proves the target works); black marks stay until they expire. */
  clearGrey(t: TargetKey): void {
    const m = this.get(t);
    if (m && m.mark === 'grey') this.map.delete(targetKeyOf(t));
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
