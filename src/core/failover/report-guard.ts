/**
 * What a report from outside the flow may touch: only a target this resolver handed out for that destination
 * recently, marked for that destination alone unless the server itself said it is unavailable (503), at a bounded
 * rate per destination, in a store of its own that never evicts the flow's marks.
 */
import { isIP } from 'node:net';
import type { Plan } from '../rfc3263/plan';
import type { Clock, Failure, TargetKey } from '../types';
import { markFor, weakerMark, type Mark } from './marks';
import { canonicalAddress, targetId } from '../target';

/** How long after a destination was last handed out a report about it is taken, ms (a call setup and a proxy's retries take seconds). */
export const HANDED_OUT_MS = 15 * 60_000;
/** Fewest destinations whose hand-outs are kept, whatever cacheSize says (reports need the registry even without a plan cache). */
export const MIN_HANDED_OUT = 1000;
/** Most marks for one destination made by reports, over all destinations; the oldest goes first, the flow's marks are never touched. */
export const MAX_REPORT_MARKS = 10_000;
/** Most marks that change something one destination's reports may make per REPORT_WINDOW_MS; more are not marked. */
export const REPORT_MARKS_PER_WINDOW = 10;
/** The window of REPORT_MARKS_PER_WINDOW, ms. */
export const REPORT_WINDOW_MS = 60_000;

/** A destination's plan and the one before it (DNS may change between a locate and its report), when it was first and last handed out. */
class HandOut {
  prev: Plan | undefined = undefined;
  /** first: sequence number of the first hand-out (a report must come after it); at: time of the last. */
  constructor(
    public plan: Plan,
    readonly first: number,
    public at: number,
  ) {}
}

/** True when `plan` lists the target (transport, address and port). */
function planLists(plan: Plan, t: TargetKey): boolean {
  const address = canonicalAddress(t.address);
  if (address === undefined) return false;
  const family = isIP(address) === 6 ? 'v6' : 'v4';
  const has = (list: readonly string[]): boolean => list.some((a) => a === address || canonicalAddress(a) === address);
  for (const e of plan.entries) {
    if (e.transport !== t.transport) continue;
    if (e.kind === 'address') {
      if (e.port === t.port && has(e.addrs[family])) return true;
      continue;
    }
    for (const s of e.srv) {
      const addrs = s.port === t.port ? e.hosts.get(s.target) : undefined;
      if (addrs && has(addrs[family])) return true;
    }
  }
  return false;
}

/** The destinations this resolver handed targets out for, with their plans; at most `max` destinations, least recent dropped first. */
export class HandedOut {
  private readonly map = new Map<string, HandOut>();
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly max: number,
  ) {}

  /** How many destinations are held. */
  get size(): number {
    return this.map.size;
  }

  /** A number that grows with every hand-out: a report checks hand-outs made before it arrived. */
  sequence(): number {
    return this.seq;
  }

  /** Records that `plan`'s targets were handed out for `destination` (cheap: a warm locate calls it every time). */
  record(destination: string, plan: Plan): void {
    const now = this.clock.now();
    const old = this.map.get(destination);
    if (old) {
      old.at = now;
      if (old.plan !== plan) {
        old.prev = old.plan;
        old.plan = plan;
      }
      // Least recently handed out first: touch only now and then, a Map re-insert per locate is not free.
      if (this.map.size > this.max / 2) {
        this.map.delete(destination);
        this.map.set(destination, old);
      }
      return;
    }
    this.map.set(destination, new HandOut(plan, ++this.seq, now));
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }

  /** True when targets were handed out for `destination` within HANDED_OUT_MS (asked before a report's own locate). */
  recent(destination: string): boolean {
    const h = this.map.get(destination);
    return h !== undefined && this.clock.now() - h.at <= HANDED_OUT_MS;
  }

  /** True when `target` is in a plan handed out for `destination`, whose first hand-out came before sequence `before`. */
  covers(destination: string, target: TargetKey, before: number): boolean {
    const h = this.map.get(destination);
    if (!h || h.first > before) return false;
    return planLists(h.plan, target) || (h.prev !== undefined && planLists(h.prev, target));
  }

  /** Forgets everything. */
  clear(): void {
    this.map.clear();
  }
}

/** A mark a report made for one destination. */
interface ScopedMark extends Mark {
  destination: string;
}

/** Marks made by reports for one destination only, and the rate at which each destination's reports may mark. */
export class ReportMarks {
  private readonly marks = new Map<string, ScopedMark>();
  private readonly windows = new Map<string, { start: number; count: number }>();

  /** greylistSeconds and maxBlacklistSeconds: the same lifetimes the flow's marks have. */
  constructor(
    private readonly clock: Clock,
    private readonly greylistSeconds: number,
    private readonly maxBlacklistSeconds: number,
    private readonly max = MAX_REPORT_MARKS,
  ) {}

  /** How many marks are held (expired ones not yet read included). */
  get size(): number {
    return this.marks.size;
  }

  /** True when one more mark for `destination` is within REPORT_MARKS_PER_WINDOW. */
  allows(destination: string): boolean {
    const w = this.windows.get(destination);
    return !w || this.clock.now() - w.start >= REPORT_WINDOW_MS || w.count < REPORT_MARKS_PER_WINDOW;
  }

  /** Counts a mark a report made for `destination` (one that changed something) against its window. */
  count(destination: string): void {
    const now = this.clock.now();
    let w = this.windows.get(destination);
    if (!w || now - w.start >= REPORT_WINDOW_MS) {
      this.windows.delete(destination);
      w = { start: now, count: 0 };
      this.windows.set(destination, w);
      if (this.windows.size > this.max) this.windows.delete(this.windows.keys().next().value as string);
    }
    w.count++;
  }

  /** The mark a failure makes (black for a 503 with Retry-After, grey otherwise), as Marks.mark() makes it. */
  markOf(t: TargetKey, failure: Failure): Mark {
    return markFor(t, failure, this.clock.now(), {
      greylistSeconds: this.greylistSeconds,
      maxBlacklistSeconds: this.maxBlacklistSeconds,
    });
  }

  /** Marks `t` for `destination` only; false when a stronger mark is already in force (nothing changed). */
  put(destination: string, next: Mark): boolean {
    const key = `${destination}\n${targetId(next)}`;
    const old = this.live(key);
    if (old && weakerMark(next, old)) return false;
    if (next.expiresAt <= this.clock.now()) return false;
    this.marks.delete(key);
    this.marks.set(key, { ...next, destination });
    if (this.marks.size > this.max) this.marks.delete(this.marks.keys().next().value as string);
    return true;
  }

  /** The live mark of `t` for `destination`, if a report made one. */
  get(destination: string, t: TargetKey): Mark | undefined {
    if (this.marks.size === 0) return undefined;
    return this.live(`${destination}\n${targetId(t)}`);
  }

  /** Removes a grey mark of `t` for `destination` (a confirmation); true when one was removed. */
  clearGrey(destination: string, t: TargetKey): boolean {
    const key = `${destination}\n${targetId(t)}`;
    const m = this.live(key);
    if (!m || m.mark !== 'grey') return false;
    this.marks.delete(key);
    return true;
  }

  private live(key: string): ScopedMark | undefined {
    const m = this.marks.get(key);
    if (m && m.expiresAt <= this.clock.now()) {
      this.marks.delete(key);
      return undefined;
    }
    return m;
  }

  /** Forgets every mark and rate window. */
  clear(): void {
    this.marks.clear();
    this.windows.clear();
  }
}

/** The stronger of a target's own mark and its mark for one destination (black over grey, then the later expiry). */
export function strongerMark(a: Mark | undefined, b: Mark | undefined): Mark | undefined {
  if (!a || !b) return a ?? b;
  if (a.mark !== b.mark) return a.mark === 'black' ? a : b;
  return a.expiresAt >= b.expiresAt ? a : b;
}
