/**
 * The locator's side of proxy reports (failoverFrom): which destinations' targets were handed out (report-guard's
 * HandedOut, bounded like the plans) and the ReportSink that checks a report against them before anything is marked.
 */
import type { ReportSink } from '../failover/from-report';
import { HandedOut, MIN_HANDED_OUT } from '../failover/report-guard';
import type { Plan } from '../rfc3263/plan';
import type { Clock, FailoverState, Failure, Target, TargetKey } from '../types';

/** What the reports need from the rest of the locator. */
export interface ReportParts {
  /** True for a URI that goes through ENUM first (its destination is known only after locating). */
  isEnum(uri: string): boolean;
  /** The destination a SIP URI locates; throws EINVALIDURI. */
  destinationOf(uri: string): string;
  /** Marks a reported failure (counted as a failover); false when the destination's rate limit held it back. */
  markReported(destination: string, target: TargetKey, failure: Failure, shared: boolean): boolean;
  /** The next target after the tried ones, marking nothing. */
  next(state: FailoverState): Target | undefined;
}

/** Hand-outs of one locator and the sink failoverFrom() works through. */
export class Reports {
  private readonly handedOut: HandedOut;
  /** What failoverFrom() may do beyond the public interface: check hand-outs and mark within the report bounds. */
  readonly sink: ReportSink;

  /** `planLimit`: the plans the locator keeps (cacheSize); at least MIN_HANDED_OUT destinations are remembered. */
  constructor(clock: Clock, planLimit: number, parts: ReportParts) {
    const handedOut = new HandedOut(clock, Math.max(planLimit, MIN_HANDED_OUT));
    this.handedOut = handedOut;
    this.sink = {
      sequence: () => handedOut.sequence(),
      recent: (uri) => {
        if (parts.isEnum(uri)) return true;
        try {
          return handedOut.recent(parts.destinationOf(uri));
        } catch {
          return true; // the report's locate rejects the URI with its own error
        }
      },
      handedOut: (destination, target, before) => handedOut.covers(destination, target, before),
      markReported: (destination, target, failure, shared) => parts.markReported(destination, target, failure, shared),
      next: (state) => parts.next(state),
    };
  }

  /** Notes that `plan`'s targets were handed out for `destination`. */
  record(destination: string, plan: Plan): void {
    this.handedOut.record(destination, plan);
  }

  /** Forgets every hand-out (close). */
  clear(): void {
    this.handedOut.clear();
  }
}
