/**
 * The retransmission timer of one nameserver, after TCP's RTO (RFC 6298): a smoothed round trip and its variance
 * from measured answers, a floor just above the round trip, the configured timeout as first guess and ceiling,
 * a backoff per retransmission of the same question (x1.5 once adapted, x2 for the first guess), and the early
 * copy's time (hedgeAt). Samples from retransmitted questions are not taken (Karn's rule): the caller only samples
 * questions sent once, or answered too soon after the early copy to be its answer.
 */

/** Least retransmission timeout, ms: below this, scheduling noise on a busy host looks like loss. */
export const RTO_MIN_MS = 20;
/** Margin above the smoothed round trip that the timeout never goes below, ms. */
export const RTO_MARGIN_MS = 10;
/** Weight of a new sample in the smoothed round trip (RFC 6298 alpha). */
const ALPHA = 1 / 8;
/** Weight of a new sample in the variance (RFC 6298 beta). */
const BETA = 1 / 4;
/** Variance multiplier (RFC 6298 K). */
const K = 4;
/** Variance multiplier of the hedge point: about the 95th percentile of the round trip. */
const HEDGE_K = 2;
/** The hedge point is at least this far above the smoothed round trip, ms. */
const HEDGE_MARGIN_MS = 2;
/** Largest backoff exponent taken into account (1.5^16 x the RTO is past any ceiling). */
const MAX_BACKOFF_EXP = 16;
/**
 * Backoff per retransmission of an adapted timeout: a timer just above a measured round trip that expires again
 * means loss more often than a slow server, so it grows by half (two losses cost 2.5 timeouts, not 3); the first
 * guess, which knows nothing of the path, doubles as in RFC 6298.
 */
export const ADAPTED_BACKOFF = 1.5;

/** Bounds of a retransmission timer. */
export interface RtoBounds {
  /** First guess before any sample, and the ceiling of the adaptive timeout, ms. */
  initialMs: number;
  /** Ceiling of the backed-off timeout, ms (never below initialMs). */
  maxMs: number;
  /** False: no adaptation, every first copy waits initialMs (the pinned timer). */
  adaptive: boolean;
}

/** What a nameserver's retransmission timer believes, as nameserverStates() shows it. */
export interface TimerState {
  /** Smoothed round trip, ms (null before the first sample). */
  srttMs: number | null;
  /** Its mean deviation, ms (null before the first sample). */
  rttvarMs: number | null;
  /** Round trips taken. */
  samples: number;
  /** The timeout of a first copy now, ms. */
  timeoutMs: number;
  /** When an unanswered first copy gets an early second one, ms; null: no early copy (not adapted, or loopback). */
  hedgeMs: number | null;
}

/** One nameserver's retransmission timer. */
export class RetransmitTimer {
  private srtt: number | undefined;
  private rttvar = 0;
  private samples = 0;

  /** bounds: first guess, ceilings and the adaptive switch. */
  constructor(private readonly bounds: RtoBounds) {}

  /** Records the round trip of a question answered after its only copy (Karn's rule is the caller's), ms. */
  sample(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    this.samples++;
    if (this.srtt === undefined) {
      this.srtt = rttMs;
      this.rttvar = rttMs / 2;
      return;
    }
    this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - rttMs);
    this.srtt = (1 - ALPHA) * this.srtt + ALPHA * rttMs;
  }

  /** The timeout of the first copy of a question, ms: srtt + 4 x rttvar, within [max(20, srtt + 10), initialMs]. */
  base(): number {
    const { initialMs, adaptive } = this.bounds;
    if (!adaptive || this.srtt === undefined) return initialMs;
    const floor = Math.max(RTO_MIN_MS, this.srtt + RTO_MARGIN_MS);
    const rto = this.srtt + K * this.rttvar;
    return Math.round(Math.min(initialMs, Math.max(floor, rto)));
  }

  /**
   * When a first copy still unanswered gets an early second copy, ms after it left: about the 95th percentile of
   * the round trip (srtt + 2 x rttvar, at least RTO_MIN_MS and srtt + 2 ms); undefined when not adapted or when
   * that is not before the timeout itself (a loopback server: the timeout is at its floor).
   */
  hedgeAt(): number | undefined {
    if (!this.bounds.adaptive || this.srtt === undefined) return undefined;
    const at = Math.round(Math.max(RTO_MIN_MS, this.srtt + HEDGE_MARGIN_MS, this.srtt + HEDGE_K * this.rttvar));
    return at < this.base() ? at : undefined;
  }

  /**
   * The timeout after the `copies`-th copy of one question (0 = first), capped at maxMs: x1.5 per retransmission
   * once adapted (ADAPTED_BACKOFF), x2 for the first guess and the classic timer.
   */
  timeout(copies: number): number {
    const ceiling = Math.max(this.bounds.initialMs, this.bounds.maxMs);
    const factor = this.bounds.adaptive && this.srtt !== undefined ? ADAPTED_BACKOFF : 2;
    return Math.min(ceiling, Math.round(this.base() * factor ** Math.min(MAX_BACKOFF_EXP, Math.max(0, copies))));
  }

  /** The smoothed round trip, ms; undefined before the first sample. */
  smoothedMs(): number | undefined {
    return this.srtt;
  }

  /** The state shown in nameserverStates(). */
  snapshot(): TimerState {
    return {
      srttMs: this.srtt === undefined ? null : Math.round(this.srtt * 10) / 10,
      rttvarMs: this.srtt === undefined ? null : Math.round(this.rttvar * 10) / 10,
      samples: this.samples,
      timeoutMs: this.base(),
      hedgeMs: this.hedgeAt() ?? null,
    };
  }
}
