/** The change bus: each local change to marks, pins and operator states goes to stores (onChange) and to events. */
import type { EventHub } from '../events';
import { targetKey } from '../target';
import type { Clock, StateChange } from '../types';
import type { AdminStates } from './admin';
import type { Marks } from './marks';
import type { Pins } from './pins';
import type { ReportMarks } from './report-guard';

/** How far past its own expiry a record may be dropped when a store reports it expired (clock skew between hosts), ms. */
const EXPIRY_SKEW_MS = 2000;

/** The state a change from elsewhere touches. */
export interface ChangeTargets {
  clock: Clock;
  bus: ChangeBus;
  marks: Marks;
  pins: Pins;
  admin: AdminStates;
  reportMarks: ReportMarks;
}

/** Hands changes to onChange listeners (stores, other instances) and, as events, to the event hub. */
export class ChangeBus {
  private readonly listeners = new Set<(change: StateChange) => void>();
  /** True while a change from elsewhere is applied: what it evicts is not reported back. */
  private applying = false;

  constructor(private readonly events: EventHub) {}

  /** True when nobody listens: a caller may skip building a change. */
  get idle(): boolean {
    return this.listeners.size === 0 && this.events.size === 0;
  }

  /** Calls listener with each local change; returns a function that stops it. */
  onChange(listener: (change: StateChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Reports a local change to listeners and as an event. */
  emit(change: StateChange): void {
    if (this.events.size > 0) this.announce(change);
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must not break locating; stores report their own errors.
      }
    }
  }

  /** Reports a record dropped to keep a bound, unless a change from elsewhere caused it. */
  evicted(change: StateChange): void {
    if (!this.applying) this.emit(change);
  }

  /** Runs `apply` for a change from elsewhere: evictions it causes are not reported back. */
  whileApplying(apply: () => void): void {
    this.applying = true;
    try {
      apply();
    } finally {
      this.applying = false;
    }
  }

  /** Tells the event listeners about a change to marks, pins or operator states (evictions to keep a bound are not events). */
  announce(change: StateChange): void {
    switch (change.op) {
      case 'mark':
        this.events.emit({
          op: 'mark',
          target: targetKey(change.mark),
          state: change.mark.mark,
          expiresAt: change.mark.expiresAt,
        });
        break;
      case 'unmark':
        this.events.emit({ op: 'unmark', target: targetKey(change.target) });
        break;
      case 'pin':
        this.events.emit({
          op: 'pin',
          target: targetKey(change.pin.target),
          destination: change.pin.destination,
          expiresAt: change.pin.expiresAt,
        });
        break;
      case 'unpin':
        this.events.emit({ op: 'unpin', target: targetKey(change.target), destination: change.destination });
        break;
      case 'admin':
        this.events.emit({
          op: change.admin.state,
          target: targetKey(change.admin),
          ...(change.admin.state !== 'enable' ? { state: change.admin.state } : {}),
          ...(change.admin.expiresAt !== undefined ? { expiresAt: change.admin.expiresAt } : {}),
        });
        break;
      default:
        break;
    }
  }
}

/** Applies a change made elsewhere (a store, another instance) to marks, pins or operator states; reports nothing back. */
export function applyChange(change: StateChange, parts: ChangeTargets): void {
  parts.bus.whileApplying(() => {
    switch (change.op) {
      case 'mark':
        if (parts.marks.put(change.mark).changed) parts.pins.unpinTarget(change.mark);
        break;
      case 'unmark':
        parts.marks.clearGrey(change.target);
        break;
      case 'pin':
        parts.pins.put(change.pin);
        break;
      case 'unpin':
        parts.pins.delete(change.destination, change.target);
        break;
      case 'expired': {
        const deadline = parts.clock.now() + EXPIRY_SKEW_MS;
        if (change.mark) parts.marks.expire(change.mark, deadline);
        if (change.destination !== undefined) parts.pins.expire(change.destination, deadline);
        break;
      }
      case 'reset':
        parts.reportMarks.clear();
        parts.marks.clear();
        parts.pins.clear();
        break;
      case 'admin':
        if (parts.admin.put(change.admin)) {
          if (change.admin.state === 'disable') parts.pins.unpinTarget(change.admin);
          parts.bus.announce(change);
        }
        break;
      default:
        break;
    }
  });
}
