/** Changes waiting for the store: one per record (a later change replaces the queued one), bounded. */
import { targetId } from '../core/target';
import type { StateChange } from '../core/types';

/** The record a change is about, so a later change to the same record replaces the queued one. */
function recordKey(change: StateChange): string | undefined {
  switch (change.op) {
    case 'mark':
      return `m ${targetId(change.mark)}`;
    case 'unmark':
      return `m ${targetId(change.target)}`;
    case 'pin':
      return `p ${change.pin.destination}`;
    case 'unpin':
      return `p ${change.destination}`;
    case 'reset':
      return 'reset';
    case 'admin':
      return `a ${targetId(change.admin)}`;
    case 'plan':
      return `plan ${change.plan.destination}`;
    default:
      return undefined;
  }
}

/** True for changes memory can rebuild (a mark, pin or last good plan it holds); deletions and resets cannot be. */
export function isAddition(change: StateChange): boolean {
  return (
    change.op === 'mark' ||
    change.op === 'pin' ||
    change.op === 'plan' ||
    (change.op === 'admin' && change.admin.state !== 'enable')
  );
}

/**
 * A bounded, ordered queue of changes keyed by record. Beyond the bound the oldest addition is dropped and
 * `dropped` is set: memory still holds it, so the link rewrites memory once the queue has drained.
 */
export class WriteQueue {
  private items = new Map<string, StateChange>();
  /** Additions were dropped since the last rewrite of memory. */
  dropped = false;

  constructor(private readonly max: number) {}

  /** Changes waiting. */
  get size(): number {
    return this.items.size;
  }

  /** True when the next change to send is a reset (which goes alone). */
  get resetFirst(): boolean {
    return this.items.keys().next().value === 'reset';
  }

  /** Queues a change, replacing a queued change to the same record; never blocks. */
  push(change: StateChange): void {
    const key = recordKey(change);
    if (key === undefined) return;
    if (key === 'reset') this.items.clear();
    this.items.delete(key);
    this.items.set(key, change);
    if (this.items.size > this.max) this.evict();
  }

  /**
   * Drops the oldest additions, 1% of the bound at a time so a burst does not walk the queue once per change
   * (or, when only deletions wait, the oldest deletion: its record expires anyway).
   */
  private evict(): void {
    let n = Math.max(1, Math.ceil(this.max / 100));
    for (const [key, change] of this.items) {
      if (isAddition(change)) {
        this.items.delete(key);
        this.dropped = true;
        if (--n === 0) return;
      }
    }
    if (this.items.size <= this.max) return;
    for (const key of this.items.keys()) {
      if (key !== 'reset') {
        this.items.delete(key);
        return;
      }
    }
  }

  /** Takes up to n changes from the front; a reset is taken alone, and a batch stops before one. */
  take(n: number): StateChange[] {
    const out: StateChange[] = [];
    for (const [key, change] of this.items) {
      if (key === 'reset' && out.length > 0) break;
      this.items.delete(key);
      out.push(change);
      if (key === 'reset' || out.length >= n) break;
    }
    return out;
  }

  /** Drops every queued addition (a catch-up rewrites memory, which holds them). */
  dropAdditions(): void {
    for (const [key, change] of this.items) if (isAddition(change)) this.items.delete(key);
  }

  /** Puts the deletions of a failed batch back in front, unless a later change to the same record is queued. */
  requeue(changes: readonly StateChange[]): void {
    const back = new Map<string, StateChange>();
    for (const change of changes) {
      const key = recordKey(change);
      if (key !== undefined && !isAddition(change) && !this.items.has(key) && !this.items.has('reset'))
        back.set(key, change);
    }
    if (back.size === 0) return;
    for (const [key, change] of this.items) back.set(key, change);
    this.items = back;
    while (this.items.size > this.max) this.evict();
  }
}
