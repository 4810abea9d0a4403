/**
 * What a locator knows about targets beyond DNS: failure marks, sticky pins, operator states and probe health, and
 * every decision on them (the order through failover/order.ts, the next target, pins, failback). Changes go out on
 * the change bus; changes from elsewhere come in through apply().
 */
import { SipLocateError } from '../errors';
import type { EventHub } from '../events';
import type { Plan } from '../rfc3263/plan';
import { asTarget, sameTarget, targetKey, targetLabel } from '../target';
import type {
  AdminRecord,
  AdminState,
  Clock,
  FailoverState,
  Failure,
  LocatorState,
  StateChange,
  Target,
  TargetKey,
} from '../types';
import { adminRecordFor, AdminStates } from './admin';
import { applyChange, ChangeBus } from './changes';
import { Health, type ProbeOutcome } from './health';
import { Marks, type Mark } from './marks';
import {
  failbackIndex,
  inDrawnOrder,
  listed,
  nextUntried,
  orderTargets,
  standingOf,
  takesPin,
  type Ordered,
  type TargetFacts,
} from './order';
import { Pins, type Pin } from './pins';
import { pinScope } from '../rfc3263/affinity';
import { MAX_REPORT_MARKS, ReportMarks, strongerMark } from './report-guard';

const REASONS: readonly string[] = ['transport', 'timeout', '503'];
/** How often expired marks and pins are swept out, ms; they are freed within this long of expiring. */
const SWEEP_INTERVAL_MS = 5000;
/** Most entries one sweep step frees before it yields to the event loop. */
const SWEEP_STEP = 10_000;
/** Recently located destinations whose order state({ orders: true }) shows: as many as the sidebar lists. */
export const MAX_RECENT_ORDERS = 50;

/** The settings target state needs. */
export interface TargetStateSettings {
  sticky: boolean;
  failback: boolean;
  pinMs: number;
  maxPins: number;
  maxMarks: number;
  greylistSeconds: number;
  maxBlacklistSeconds: number;
}

/** Marks, pins, operator states and health of one locator, and the decisions taken on them. */
export class TargetState {
  readonly health: Health;
  readonly bus: ChangeBus;
  private readonly marks: Marks;
  private readonly pins: Pins;
  private readonly admin: AdminStates;
  /** Marks reports made for one destination only (their own bound and rate; never evict the flow's marks). */
  private readonly reportMarks: ReportMarks;
  /** What the one target order reads: operator states, marks, probe health. */
  private readonly facts: TargetFacts;
  /** The last RFC 3263 draw of recently located destinations (LRU, MAX_RECENT_ORDERS), ranked anew by state(). */
  private readonly recentDraws = new Map<string, readonly Target[]>();
  private readonly sweepTimer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly events: EventHub,
    private readonly s: TargetStateSettings,
  ) {
    this.bus = new ChangeBus(events);
    this.health = new Health(clock);
    this.pins = new Pins(clock, s.pinMs, s.maxPins, (pin: Pin) =>
      this.bus.evicted({ op: 'expired', destination: pin.destination }),
    );
    const maxReportMarks = Math.min(MAX_REPORT_MARKS, s.maxMarks);
    this.marks = new Marks(
      clock,
      s.greylistSeconds,
      s.maxBlacklistSeconds,
      s.maxMarks,
      (mark: Mark) => this.bus.evicted({ op: 'expired', mark: targetKey(mark) }),
      maxReportMarks,
    );
    this.reportMarks = new ReportMarks(clock, s.greylistSeconds, s.maxBlacklistSeconds, maxReportMarks);
    this.admin = new AdminStates(clock, s.maxMarks);
    const { admin, marks, health } = this;
    this.facts = {
      get empty() {
        return admin.size === 0 && marks.size === 0 && health.size === 0;
      },
      admin: (t) => (admin.size > 0 ? admin.get(t)?.state : undefined),
      mark: (t) => marks.get(t)?.mark,
      health: (t) => health.state(t),
    };
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** The facts for one destination: a mark reports made for it alone counts as well (the stronger wins). */
  private factsFor(destination: string): TargetFacts {
    const { facts, marks, reportMarks } = this;
    if (reportMarks.size === 0) return facts;
    return {
      get empty() {
        return facts.empty && reportMarks.size === 0;
      },
      admin: (t) => facts.admin(t),
      mark: (t) => strongerMark(marks.get(t), reportMarks.get(destination, t))?.mark,
      health: (t) => facts.health(t),
    };
  }

  /**
   * A destination's targets (drawn in RFC 3263 order) in failover order, and whether targets[0] is its pin; keeps the
   * pin in step (renewed, failed back, dropped when DNS no longer lists it, made). readOnly: the same answer, no change.
   */
  order(
    destination: string,
    drawn: Target[],
    plan: Plan,
    readOnly: boolean,
    key?: string,
  ): { targets: Target[]; sticky: boolean; order: Ordered } {
    if (!readOnly) this.keepDraw(destination, drawn);
    const scope = this.scopeOf(destination, key);
    const facts = this.factsFor(destination);
    const order = orderTargets(drawn, facts, scope !== undefined ? this.pins.get(scope) : undefined);
    const sticky =
      scope !== undefined && order.targets.length > 0 && this.applyPin(scope, order, readOnly, plan, facts);
    return { targets: listed(order), sticky, order };
  }

  /**
   * The name a destination's (and affinity key's) sticky pin is kept under; undefined when no pin applies: not
   * sticky, or a key under failback (the hash gives a key its server back as soon as that server is usable).
   */
  private scopeOf(destination: string, key: string | undefined): string | undefined {
    if (!this.s.sticky || (key !== undefined && this.s.failback)) return undefined;
    return pinScope(destination, key);
  }

  /** Marks the last tried target failed and returns the first untried target of the order; `drawn`: a fresh draw for ties. */
  failover(state: FailoverState, failure: Failure, drawn: readonly Target[] | undefined): Target | undefined {
    const failed = state.tried[state.tried.length - 1];
    if (failed) this.markFailed(failed, failure);
    return this.next(state, drawn);
  }

  /** The first untried target of the order (pinned in sticky mode when it may take a pin); marks nothing. */
  next(state: FailoverState, drawn: readonly Target[] | undefined): Target | undefined {
    // Ties keep RFC 3263 order as a locate now would draw it, not the order of the list the request carries.
    const targets = drawn ? inDrawnOrder(state.targets, drawn) : state.targets;
    const scope = this.scopeOf(state.destination, state.key);
    const order = orderTargets(
      targets,
      this.factsFor(state.destination),
      scope !== undefined ? this.pins.get(scope) : undefined,
    );
    const next = nextUntried(order, state.tried);
    if (next && scope !== undefined && takesPin(next.standing)) this.pin(scope, next.target);
    return next?.target;
  }

  /**
   * Marks a failure a report from outside the flow named: for every destination (`shared`: within the report marks'
   * own bound, never evicting the flow's) or for `destination` alone; at most the report rate per destination.
   * False when the rate limit held it back.
   */
  markReported(destination: string, target: TargetKey, failure: Failure, shared: boolean): boolean {
    if (!REASONS.includes(failure.reason) || !this.reportMarks.allows(destination)) return false;
    if (shared) {
      const { mark, changed } = this.marks.mark(target, failure, true);
      if (!changed) return true;
      this.reportMarks.count(destination);
      this.bus.emit({ op: 'mark', mark: { ...mark } });
      for (const d of this.pins.unpinTarget(target))
        this.bus.emit({ op: 'unpin', destination: d, target: targetKey(target) });
      return true;
    }
    if (!this.reportMarks.put(destination, this.reportMarks.markOf(target, failure))) return true;
    this.reportMarks.count(destination);
    const pin = this.pins.get(destination);
    if (pin && sameTarget(pin, target)) {
      this.pins.delete(destination);
      this.bus.emit({ op: 'unpin', destination, target: targetKey(target) });
    }
    return true;
  }

  markFailed(target: TargetKey, failure: Failure): void {
    if (!failure || !REASONS.includes(failure.reason))
      throw new SipLocateError('EINVALIDOPTION', 'A failure reason must be "transport", "timeout" or "503".', {
        reason: failure?.reason,
      });
    const { mark, changed } = this.marks.mark(target, failure);
    if (changed) this.bus.emit({ op: 'mark', mark: { ...mark } });
    for (const destination of this.pins.unpinTarget(target))
      this.bus.emit({ op: 'unpin', destination, target: targetKey(target) });
  }

  /** Clears a grey mark; pins the target for the destination (and affinity key) when a pin applies. */
  markSucceeded(target: TargetKey, where?: string, key?: string): void {
    if (this.marks.clearGrey(target)) this.bus.emit({ op: 'unmark', target: targetKey(target) });
    if (where !== undefined && this.reportMarks.size > 0) this.reportMarks.clearGrey(where, target);
    const destination = where ? this.scopeOf(where, key) : undefined;
    if (destination === undefined) return;
    const pin = this.pins.get(destination);
    const own = pin !== undefined && sameTarget(pin, target);
    if (own && !this.dueForRenewal(pin.expiresAt)) {
      this.pins.touch(destination);
      return;
    }
    // Only a target the order lets take a pin gets a new one (not drained, disabled, black or down).
    if (!own && !takesPin(standingOf(where !== undefined ? this.factsFor(where) : this.facts, target))) return;
    this.pin(destination, asTarget(target));
  }

  /** Counts one probe: success clears a grey mark; a change to up or down is an event, down also unpins. */
  probed(target: TargetKey & { host?: string }, outcome: ProbeOutcome): void {
    if (this.closed) return;
    const changed = this.health.record(target, outcome);
    if (outcome.alive && this.marks.clearGrey(target)) this.bus.emit({ op: 'unmark', target: targetKey(target) });
    if (!changed || changed === 'unknown') return;
    const reason =
      changed === 'down'
        ? (outcome.error ?? (outcome.code !== undefined ? `status ${outcome.code}` : 'no answer'))
        : `status ${outcome.code ?? 'ok'}`;
    this.events.emit({ op: changed, target: targetKey(target), state: changed, reason });
    if (changed === 'down')
      for (const destination of this.pins.unpinTarget(target))
        this.bus.emit({ op: 'unpin', destination, target: targetKey(target) });
  }

  pinnedTarget(destination: string, key?: string): Target | undefined {
    const scope = this.scopeOf(destination, key);
    return scope === undefined ? undefined : this.pins.get(scope)?.target();
  }

  held(): { marks: number; pins: number } {
    return { marks: this.marks.size, pins: this.pins.size };
  }

  state(options: { orders?: boolean } = {}): LocatorState {
    // Sorted (by code unit, cheaply), so the same state reads the same whatever the recency order of the pins.
    const state: LocatorState = {
      marks: this.marks.list().sort(byTarget),
      pins: this.pins.list().sort((a, b) => byText(a.destination, b.destination)),
    };
    if (options.orders) {
      state.orders = [...this.recentDraws].reverse().map(([destination, drawn]) => ({
        destination,
        targets: orderTargets(drawn, this.factsFor(destination), this.s.sticky ? this.pins.get(destination) : undefined)
          .targets,
      }));
    }
    return state;
  }

  setTargetState(target: TargetKey, state: AdminState, seconds?: number): AdminRecord {
    const record = adminRecordFor(target, state, seconds, this.clock.now());
    if (this.admin.put(record)) {
      // A disabled target keeps no pins: the destinations pinned to it move on at their next locate.
      if (state === 'disable')
        for (const destination of this.pins.unpinTarget(record))
          this.bus.emit({ op: 'unpin', destination, target: targetKey(record) });
      this.bus.emit({ op: 'admin', admin: record });
    }
    return record;
  }

  adminStates(): AdminRecord[] {
    return this.admin.list().sort(byTarget);
  }

  resetState(): void {
    this.reportMarks.clear();
    this.marks.clear();
    this.pins.clear();
    this.bus.emit({ op: 'reset' });
  }

  /** Applies a change made elsewhere to marks, pins or operator states (plans are the caller's); reports nothing back. */
  apply(change: StateChange): void {
    applyChange(change, {
      clock: this.clock,
      bus: this.bus,
      marks: this.marks,
      pins: this.pins,
      admin: this.admin,
      reportMarks: this.reportMarks,
    });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweepTimer);
    this.health.clear();
    this.recentDraws.clear();
  }

  /**
   * Keeps the destination's pin in step with the order (an honoured pin is first): renews it, moves it back to a
   * better target (failback), drops it when DNS no longer lists its target, or pins targets[0] when that may take a
   * pin. A pin listed but not honoured (black, down, disabled) is kept. True when targets[0] is pinned.
   */
  private applyPin(destination: string, order: Ordered, readOnly: boolean, plan: Plan, facts: TargetFacts): boolean {
    if (!this.s.sticky) return false;
    const pin = this.pins.get(destination);
    const targets = order.targets;
    if (pin && order.pinned) {
      const better = this.s.failback ? failbackIndex(plan, order, 0, facts) : undefined;
      if (better !== undefined) {
        targets.unshift(targets.splice(better, 1)[0]!);
        order.standings.unshift(order.standings.splice(better, 1)[0]!);
        if (readOnly) return true;
        this.pin(destination, targets[0]!);
        this.events.emit({
          op: 'failback',
          target: targetKey(targets[0]!),
          destination,
          reason: `from ${targetLabel(pin)}`,
        });
        return true;
      }
      if (readOnly) return true;
      if (this.dueForRenewal(pin.expiresAt)) this.pin(destination, pin.target());
      else this.pins.touch(destination);
      return true;
    }
    if (pin && order.pinListed) return false;
    if (pin && !readOnly) {
      this.pins.delete(destination);
      this.bus.emit({ op: 'unpin', destination, target: targetKey(pin) });
    }
    if (!takesPin(order.standings[0]!)) return false;
    if (!readOnly) this.pin(destination, targets[0]!);
    return true;
  }

  /** Pins target for destination and reports it, naming the pin it replaced. */
  private pin(destination: string, target: Target): void {
    const old = this.pins.get(destination);
    const pin = this.pins.set(destination, target);
    if (this.bus.idle) return;
    const change: StateChange = { op: 'pin', pin };
    if (old) change.replaces = targetKey(old);
    this.bus.emit(change);
  }

  /** True when less than half of a pin's lifetime is left, so using it should renew it. */
  private dueForRenewal(expiresAt: number): boolean {
    return expiresAt - this.clock.now() < this.pins.lifetimeMs / 2;
  }

  /** Keeps a destination's last draw for state({ orders: true }), most recent last. */
  private keepDraw(destination: string, drawn: readonly Target[]): void {
    this.recentDraws.delete(destination);
    this.recentDraws.set(destination, drawn);
    if (this.recentDraws.size > MAX_RECENT_ORDERS)
      this.recentDraws.delete(this.recentDraws.keys().next().value as string);
  }

  /** Frees expired marks and pins, a step at a time so a mass expiry does not stall the event loop. */
  private sweep(): void {
    if (this.closed) return;
    const freed = this.pins.sweep(SWEEP_STEP) + this.marks.sweep(SWEEP_STEP);
    if (freed >= SWEEP_STEP) setImmediate(() => this.sweep());
  }
}

/** By code unit, cheaply (state() and adminStates() sort the same way). */
function byText(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

function byTarget(a: TargetKey, b: TargetKey): number {
  return byText(a.transport, b.transport) || byText(a.address, b.address) || a.port - b.port;
}
