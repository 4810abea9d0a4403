/** Operational events of one resolver: what the sip-events node sends and the metrics count. */
import type { TargetKey } from './types';

/** What happened. */
export type ResolverEventOp =
  | 'mark' // a target was marked grey or black (reason, expiresAt)
  | 'unmark' // a target's mark was cleared (a success, or its expiry)
  | 'pin' // a destination was pinned to a target (sticky mode)
  | 'unpin' // a destination's pin was dropped
  | 'up' // health probing found a target alive again
  | 'down' // health probing found a target dead
  | 'drain' // an operator drained a target: no new pins, listed after healthy targets
  | 'disable' // an operator disabled a target: skipped while others remain
  | 'enable' // an operator cleared drain/disable
  | 'failback' // a pin moved back to a better target that is up again
  | 'store-up' // the state store is reachable again
  | 'store-down' // the state store cannot be reached
  | 'nameserver-down' // a nameserver failed repeatedly and went behind the healthy ones
  | 'nameserver-up'; // a nameserver answered again

/** One event (msg.payload of the sip-events node, without the resolver's id). */
export interface ResolverEvent {
  op: ResolverEventOp;
  target?: TargetKey;
  destination?: string;
  /** Why: a failure reason, a status code, the operator's note, an error code. */
  reason?: string;
  /** The new state where the op has one (grey/black, up/down, drain/disable, the store's state). */
  state?: string;
  /** When the new state ends (ms since the epoch), where it ends by itself. */
  expiresAt?: number;
  /** A nameserver, for the nameserver ops. */
  nameserver?: string;
  /** When it happened (ms since the epoch). */
  at: number;
}

/** Fans events out to listeners in order; a listener that throws does not stop the others. */
export class EventHub {
  private readonly listeners = new Set<(event: ResolverEvent) => void>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Adds a listener; returns the function that removes it. */
  on(listener: (event: ResolverEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Sends one event to every listener (at defaults to now). */
  emit(event: Omit<ResolverEvent, 'at'> & { at?: number }): void {
    if (this.listeners.size === 0) return;
    const full: ResolverEvent = { ...event, at: event.at ?? this.now() };
    for (const listener of [...this.listeners]) {
      try {
        listener(full);
      } catch {
        // a listener's failure is its own; the others still hear the event
      }
    }
  }

  /** How many listeners there are. */
  get size(): number {
    return this.listeners.size;
  }

  /** Drops every listener (on close). */
  clear(): void {
    this.listeners.clear();
  }
}
