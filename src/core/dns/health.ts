import type { Nameserver } from './nameservers';
import type { TimerState } from './rto';

/** First retry delay of a failing nameserver, ms; it doubles with each further consecutive failure. */
export const SERVER_RETRY_BASE_MS = 5000;
/** Longest retry delay of a failing nameserver, ms. */
export const SERVER_RETRY_MAX_MS = 5 * 60 * 1000;

/** The health of one nameserver, as shown by nameserverStates(). */
export interface NameserverState {
  /** "ip:port" or "[ipv6]:port". */
  address: string;
  /** 'healthy' (last attempt answered) or 'failing' (asked after the healthy ones until it answers again). */
  state: 'healthy' | 'failing';
  /** Timeouts, refused connections, SERVFAIL and REFUSED answers in a row. */
  consecutiveFailures: number;
  /** When a failing server is next asked ahead of its turn (a background probe), ms since the epoch; null when healthy. */
  retryAt: number | null;
  /** Error code of the last failure; null when it never failed. */
  lastError: string | null;
  /** Its retransmission timer: round trip, timeout and early hedge point. */
  timer: TimerState;
}

/** Which servers to ask, in order, and which failing servers are due for a background probe. */
export interface ServerOrder {
  servers: Nameserver[];
  /** How many of `servers`, from the front, are healthy. */
  healthy: number;
  probes: Nameserver[];
}

interface Entry {
  ns: Nameserver;
  index: number;
  failures: number;
  retryAt: number;
  lastError: string | null;
}

/**
 * Nameserver health after c-ares' server_increment_failures: consecutive failures per server; a failing server goes
 * behind the healthy ones and is probed after a backoff (base x 2^(failures-1), capped, with jitter); one answer
 * makes it healthy again.
 */
export class NameserverHealth {
  private readonly entries: Entry[];
  /** With resolv.conf's `options rotate`: where the next question starts in the healthy list. */
  private nextStart = 0;

  /** servers in configured order; now: ms clock; random: [0,1) for the jitter; rotate: spread questions over the healthy servers. */
  constructor(
    servers: readonly Nameserver[],
    private readonly now: () => number,
    private readonly random: () => number = Math.random,
    private readonly rotate = false,
  ) {
    this.entries = servers.map((ns, index) => ({ ns, index, failures: 0, retryAt: 0, lastError: null }));
  }

  /**
   * Healthy servers in configured order, then failing ones (fewest failures first). When a healthy server exists, a
   * failing server whose retry time has come is returned as a probe (to ask in the background) and its next retry
   * time is set, so that one probe goes out per backoff period. `start` rotates the healthy servers (see startOf()).
   */
  order(start = 0): ServerOrder {
    const healthy: Nameserver[] = [];
    const failing: Entry[] = [];
    for (const e of this.entries) {
      if (e.failures === 0) healthy.push(e.ns);
      else failing.push(e);
    }
    failing.sort((a, b) => a.failures - b.failures || a.index - b.index);
    const probes: Nameserver[] = [];
    if (healthy.length > 0) {
      const now = this.now();
      for (const e of failing) {
        if (e.retryAt > now) continue;
        probes.push(e.ns);
        e.retryAt = now + this.delay(e.failures);
      }
    }
    const shift = healthy.length > 0 ? start % healthy.length : 0;
    const rotated = shift === 0 ? healthy : [...healthy.slice(shift), ...healthy.slice(0, shift)];
    return { servers: [...rotated, ...failing.map((e) => e.ns)], healthy: healthy.length, probes };
  }

  /** Where one question starts in the healthy list: 0, or with `rotate` the next server each time (glibc's RES_ROTATE). */
  startOf(): number {
    if (!this.rotate) return 0;
    const start = this.nextStart;
    this.nextStart = (this.nextStart + 1) % Math.max(1, this.entries.length);
    return start;
  }

  /** Records an answer (NOERROR or NXDOMAIN): the server is healthy again. */
  succeeded(ns: Nameserver): void {
    const e = this.find(ns);
    if (!e) return;
    e.failures = 0;
    e.retryAt = 0;
  }

  /** Records a failure (timeout, refused, SERVFAIL, REFUSED) and schedules the next probe. */
  failed(ns: Nameserver, code: string): void {
    const e = this.find(ns);
    if (!e) return;
    e.failures++;
    e.lastError = code;
    e.retryAt = this.now() + this.delay(e.failures);
  }

  /** Every nameserver's state, in configured order, with `timer(ns)` as its timer's state. */
  states(timer: (ns: Nameserver) => TimerState): NameserverState[] {
    return this.entries.map((e) => ({
      address: e.ns.label,
      state: e.failures === 0 ? 'healthy' : 'failing',
      consecutiveFailures: e.failures,
      retryAt: e.failures === 0 ? null : e.retryAt,
      lastError: e.lastError,
      timer: timer(e.ns),
    }));
  }

  /** Backoff before the next probe: base x 2^(failures-1), capped, minus up to a quarter of jitter. */
  private delay(failures: number): number {
    const full = Math.min(SERVER_RETRY_MAX_MS, SERVER_RETRY_BASE_MS * 2 ** Math.min(30, failures - 1));
    return Math.round(full * (1 - 0.25 * this.random()));
  }

  private find(ns: Nameserver): Entry | undefined {
    return this.entries.find((e) => e.ns.label === ns.label);
  }
}
