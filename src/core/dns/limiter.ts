import { SipLocateError } from '../errors';

/** Bounds of the in-flight limiter. */
export interface LimiterOptions {
  /** Most attempts in flight at once. */
  maxInFlight: number;
  /** Most attempts in flight for one domain (its fair share). */
  maxPerDomain: number;
  /** Most attempts waiting for a slot; when full, the domain with the most waiting loses its newest entry. */
  maxQueued: number;
  /** Longest an attempt waits for a slot, ms. */
  maxWaitMs: number;
}

interface Waiter {
  domain: string;
  /** Called with the slot already taken for it. */
  wake: () => void;
  fail: (err: SipLocateError) => void;
  done: boolean;
}

/** One domain's waiters; `dead` counts settled ones not yet removed (compacted when they are half). */
interface DomainQueue {
  items: Waiter[];
  dead: number;
}

/**
 * Caps the network attempts in flight: in total (a burst waits its turn instead of overflowing socket buffers) and
 * per domain (one domain cannot hold more than its fair share). Waiting attempts are bounded in number and time,
 * leave the queue when their caller aborts, and are served round-robin across domains.
 */
export class InFlightLimiter {
  private active = 0;
  private readonly activeBy = new Map<string, number>();
  /** Waiting attempts per domain; Map order is the round-robin order. */
  private readonly queues = new Map<string, DomainQueue>();
  private queued = 0;

  /** o: the bounds. */
  constructor(private readonly o: LimiterOptions) {}

  /** Attempts waiting for a slot now. */
  get waiting(): number {
    return this.queued;
  }

  /** Attempts holding a slot now. */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Runs work once a slot is free for its domain; the slot is given back when it settles. Rejects with EOVERLOAD
   * when the queue is full, ETIMEOUT after maxWaitMs in the queue and ECANCELLED when the signal aborts first.
   */
  async run<T>(domain: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    if (this.hasSlot(domain)) this.take(domain);
    else await this.wait(domain, signal);
    try {
      return await work();
    } finally {
      this.active--;
      const n = (this.activeBy.get(domain) ?? 1) - 1;
      if (n === 0) this.activeBy.delete(domain);
      else this.activeBy.set(domain, n);
      this.next();
    }
  }

  /** Rejects every waiter with ECLOSED (on close). */
  drain(): void {
    for (const queue of [...this.queues.values()]) {
      for (const w of [...queue.items])
        w.fail(new SipLocateError('ECLOSED', 'The DNS client was closed while the query waited for a free slot.'));
    }
    this.queues.clear();
  }

  private hasSlot(domain: string): boolean {
    return this.active < this.o.maxInFlight && (this.activeBy.get(domain) ?? 0) < this.o.maxPerDomain;
  }

  private take(domain: string): void {
    this.active++;
    this.activeBy.set(domain, (this.activeBy.get(domain) ?? 0) + 1);
  }

  private wait(domain: string, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelled());
    if (this.queued >= this.o.maxQueued && !this.evictFor(domain)) {
      return Promise.reject(
        new SipLocateError(
          'EOVERLOAD',
          `Too many DNS queries are waiting (${this.o.maxQueued}); this one was not started.`,
          { domain },
        ),
      );
    }
    let queue = this.queues.get(domain);
    if (!queue) {
      queue = { items: [], dead: 0 };
      this.queues.set(domain, queue);
    }
    const own = queue;
    return new Promise<void>((resolve, reject) => {
      const settle = (): boolean => {
        if (waiter.done) return false;
        waiter.done = true;
        this.queued--;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const waiter: Waiter = {
        domain,
        done: false,
        wake: () => {
          if (settle()) resolve();
        },
        fail: (err) => {
          if (!settle()) return;
          own.dead++;
          if (own.dead * 2 > own.items.length) {
            own.items = own.items.filter((w) => !w.done);
            own.dead = 0;
          }
          reject(err);
        },
      };
      const onAbort = (): void => waiter.fail(cancelled());
      const timer = setTimeout(
        () =>
          waiter.fail(
            new SipLocateError('ETIMEOUT', `The DNS query waited ${this.o.maxWaitMs} ms for a free slot.`, { domain }),
          ),
        this.o.maxWaitMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      own.items.push(waiter);
      this.queued++;
    });
  }

  /** Makes room for a newcomer from `domain`: drops the newest waiter of the domain with the most waiting, unless that is the newcomer's own. */
  private evictFor(domain: string): boolean {
    let worst: DomainQueue | undefined;
    let worstDomain = '';
    let most = 0;
    for (const [d, queue] of this.queues) {
      const live = queue.items.length - queue.dead;
      if (live > most) {
        most = live;
        worst = queue;
        worstDomain = d;
      }
    }
    if (!worst || worstDomain === domain) return false;
    for (let i = worst.items.length - 1; i >= 0; i--) {
      const w = worst.items[i]!;
      if (w.done) continue;
      w.fail(
        new SipLocateError(
          'EOVERLOAD',
          `Too many DNS queries are waiting (${this.o.maxQueued}); ${worstDomain} had the most and lost its newest.`,
          { domain: worstDomain },
        ),
      );
      return true;
    }
    return false;
  }

  /** Gives free slots to waiters, one per domain per pass (round robin), while slots and eligible waiters remain. */
  private next(): void {
    let woke = true;
    while (woke && this.active < this.o.maxInFlight) {
      woke = false;
      for (const [domain, queue] of [...this.queues]) {
        if (this.active >= this.o.maxInFlight) return;
        while (queue.items.length > 0 && queue.items[0]!.done) {
          queue.items.shift();
          queue.dead--;
        }
        if (queue.items.length === 0) {
          this.queues.delete(domain);
          continue;
        }
        if (!this.hasSlot(domain)) continue;
        this.take(domain);
        queue.items.shift()!.wake();
        woke = true;
        this.queues.delete(domain);
        if (queue.items.length > 0) this.queues.set(domain, queue);
      }
    }
  }
}

function cancelled(): SipLocateError {
  return new SipLocateError('ECANCELLED', 'The DNS query was cancelled while it waited for a free slot.');
}
