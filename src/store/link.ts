/** Keeps a locator's marks and pins and a state store in step: written behind in batches, caught up after an outage, remote changes in. */
import { toSipLocateError, type SipLocateError } from '../core/errors';
import type { LocatorState, StateChange } from '../core/types';
import type { Locator } from '../core/locator/api';
import { capChange, type RecordLimits } from './records';
import type { StateStore, StoreStatus, WriteOutcome } from './types';
import { isAddition, WriteQueue } from './write-queue';

/** Retry delays after a failed catch-up, ms. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;
/** Store keys named in the log at most once each; beyond this many, invalid records are only counted. */
const MAX_LOGGED = 1000;
/** Changes queued for the store, and remote changes held while memory is rewritten, at most by default (maxPending). */
const DEFAULT_MAX_PENDING = 100_000;

/** Options of linkStore(). */
export interface LinkOptions {
  /** Changes queued for the store at most (default 100,000); beyond it the oldest additions are dropped and rewritten from memory. */
  maxPending?: number;
  /** Changes per batch (default 500; a context store takes any number at once). */
  batchSize?: number;
  /** Batches in flight at once (default 4). */
  lanes?: number;
  /** The longest a record from elsewhere may live here (defaults: 7200 s pins, 3600 s marks, the locator defaults). */
  limits?: Partial<RecordLimits>;
  /** Where to say that a store key holds something invalid (once per key). */
  log?: (message: string) => void;
  clock?: { now(): number };
}

/** A running link between one locator and one store. */
export interface StoreLink {
  /** How the store is doing. */
  status(): StoreStatus;
  /** Calls listener whenever status().state changes; returns a function that stops it. */
  onStatus(listener: (status: StoreStatus) => void): () => void;
  /** Resolves once every queued change has been written (or the store went down); after the first catch-up only. */
  flush(): Promise<void>;
  /** Stops following the locator, flushes and closes the store. */
  close(): Promise<void>;
}

/** Links a locator to a store: reads never wait for the store; it is written behind and caught up when it returns. */
export function linkStore(locator: Locator, store: StateStore, options: LinkOptions = {}): StoreLink {
  return new Link(locator, store, options).api();
}

/** The state behind one StoreLink. */
class Link {
  private readonly clock: { now(): number };
  private readonly status: StoreStatus;
  private readonly listeners = new Set<(s: StoreStatus) => void>();
  private readonly queue: WriteQueue;
  private readonly batchSize: number;
  private readonly lanes: number;
  private readonly maxPending: number;
  private readonly limits: RecordLimits;
  private readonly logged = new Set<string>();
  private readonly drained: Array<() => void> = [];
  private inFlight = 0;
  private resetInFlight = false;
  private rewriting = false;
  private reachable = false;
  // Remote changes: dropped until a catch-up reads the store (the read covers them), held while it reads, applied after.
  private remoteMode: 'drop' | 'hold' | 'apply' = 'drop';
  private held: StateChange[] = [];
  private closed = false;
  private syncing: Promise<void> | undefined;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay = RETRY_MIN_MS;
  private readonly stopFollowing: () => void;

  constructor(
    private readonly locator: Locator,
    private readonly store: StateStore,
    options: LinkOptions,
  ) {
    this.clock = options.clock ?? { now: Date.now };
    this.status = {
      kind: store.kind,
      state: 'connecting',
      since: this.clock.now(),
      written: 0,
      failed: 0,
      received: 0,
      invalid: 0,
      pending: 0,
    };
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
    this.queue = new WriteQueue(this.maxPending);
    this.batchSize = store.kind === 'context' ? Number.MAX_SAFE_INTEGER : (options.batchSize ?? 500);
    this.lanes = options.lanes ?? 4;
    this.limits = {
      maxPinMs: options.limits?.maxPinMs ?? 7_200_000,
      maxMarkMs: options.limits?.maxMarkMs ?? 3_600_000,
    };
    this.log = options.log;
    this.stopFollowing = locator.onChange((change) => {
      if (this.closed) return;
      // While the store is away only deletions wait: memory holds every addition and is written out on return.
      if (!this.reachable && isAddition(change)) return;
      this.queue.push(change);
      this.pump();
    });
    store.start({
      up: () => void this.sync(),
      down: (error) => {
        this.reachable = false;
        this.remoteMode = 'drop';
        this.setState('down', error);
      },
      remote: (change) => {
        this.status.received++;
        if (this.remoteMode === 'apply') this.apply(change);
        else if (this.remoteMode === 'hold') {
          if (this.held.length < this.maxPending) this.held.push(change);
          else this.again = true; // too many to hold: read the store once more
        }
      },
      invalid: (error, key) => this.invalid(error, key),
      slow: (slow) => {
        if (slow) this.status.slow = true;
        else delete this.status.slow;
      },
    });
  }

  private readonly log: ((message: string) => void) | undefined;

  api(): StoreLink {
    return {
      status: () => this.snapshot(),
      onStatus: (listener) => {
        this.listeners.add(listener);
        return () => {
          this.listeners.delete(listener);
        };
      },
      flush: () => this.flush(),
      close: () => this.close(),
    };
  }

  private snapshot(): StoreStatus {
    return {
      ...this.status,
      pending: this.queue.size,
      ...(this.status.error ? { error: { ...this.status.error } } : {}),
    };
  }

  private setState(state: StoreStatus['state'], error?: SipLocateError): void {
    if (error) this.status.error = { code: error.code, message: error.message };
    else if (state === 'up') delete this.status.error;
    if (this.status.state === state) return;
    this.status.state = state;
    this.status.since = this.clock.now();
    const s = this.snapshot();
    for (const l of this.listeners) {
      try {
        l(s);
      } catch {
        // a status listener must not break the link
      }
    }
  }

  private invalid(error: SipLocateError, key = error.message): void {
    this.status.invalid++;
    if (this.logged.has(key) || this.logged.size >= MAX_LOGGED) return;
    this.logged.add(key);
    this.log?.(error.message);
  }

  /** Applies a change from elsewhere with its expiry capped by the local maxima. */
  private apply(change: StateChange): void {
    this.locator.apply(capChange(change, this.clock.now(), this.limits));
  }

  private applyBatch(batch: LocatorState): void {
    for (const mark of batch.marks) this.apply({ op: 'mark', mark });
    for (const pin of batch.pins) this.apply({ op: 'pin', pin });
    for (const admin of batch.admin ?? []) this.apply({ op: 'admin', admin });
    for (const plan of batch.plans ?? []) this.apply({ op: 'plan', plan });
  }

  /** Counts what the store did with a batch and adopts pins that stood against ours. */
  private settle(changes: readonly StateChange[], outcomes: readonly WriteOutcome[]): void {
    changes.forEach((_, i) => {
      const o = outcomes[i];
      if (o?.invalid) this.invalid(o.invalid, o.key);
      else this.status.written++;
      if (o?.standing) this.apply({ op: 'pin', pin: o.standing });
    });
  }

  private failed(err: unknown, changes: readonly StateChange[]): void {
    this.status.failed += changes.length;
    this.queue.requeue(changes);
    this.reachable = false;
    this.remoteMode = 'drop';
    this.setState('down', toSipLocateError(err, 'ESTOREDOWN', 'The state store did not take a change.'));
    this.wakeDrained();
    this.scheduleRetry();
  }

  /** Sends queued batches while lanes are free; a reset goes alone, with nothing else in flight. */
  private pump(): void {
    while (this.reachable && !this.resetInFlight && this.inFlight < this.lanes && this.queue.size > 0) {
      if (this.queue.resetFirst && this.inFlight > 0) return;
      const batch = this.queue.take(this.batchSize);
      const reset = batch[0]?.op === 'reset';
      this.inFlight++;
      this.resetInFlight = reset;
      this.store
        .write(batch)
        .then(
          (outcomes) => this.settle(batch, outcomes),
          (err: unknown) => this.failed(err, batch),
        )
        .finally(() => {
          this.inFlight--;
          if (reset) this.resetInFlight = false;
          this.pump();
        });
    }
    if (this.reachable && this.inFlight === 0 && this.queue.size === 0) {
      if (this.queue.dropped && !this.rewriting && !this.syncing) {
        // Additions were dropped from the full queue: memory holds them, so write memory out once.
        this.queue.dropped = false;
        this.rewriting = true;
        this.rewrite()
          .catch((err: unknown) => this.failed(err, []))
          .finally(() => {
            this.rewriting = false;
            this.pump();
          });
      } else if (!this.rewriting) this.wakeDrained();
    }
  }

  private wakeDrained(): void {
    for (const resolve of this.drained.splice(0)) resolve();
  }

  /** Writes every mark, then every pin memory holds (marks first, so the store can tell a stale pin), `lanes` batches at a time. */
  private async rewrite(): Promise<void> {
    const { marks, pins } = this.locator.state();
    const admin = this.locator.adminStates?.() ?? [];
    const plans = this.locator.savedPlans?.() ?? [];
    const changes: StateChange[] = [
      ...marks.map((mark): StateChange => ({ op: 'mark', mark })),
      ...pins.map((pin): StateChange => ({ op: 'pin', pin })),
      ...admin.map((a): StateChange => ({ op: 'admin', admin: a })),
      ...plans.map((plan): StateChange => ({ op: 'plan', plan })),
    ];
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < changes.length) {
        const batch = changes.slice(next, next + this.batchSize);
        next += batch.length;
        try {
          this.settle(batch, await this.store.write(batch));
        } catch (err) {
          this.status.failed += batch.length;
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: this.lanes }, lane));
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.sync();
    }, this.retryDelay);
    this.retryTimer.unref();
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  /** Replays queued deletions, rewrites memory, then reads the store batch by batch. */
  private async catchUp(): Promise<void> {
    this.remoteMode = 'drop';
    this.held = [];
    this.queue.dropAdditions();
    this.queue.dropped = false;
    while (this.queue.size > 0) {
      const batch = this.queue.take(this.batchSize);
      try {
        this.settle(batch, await this.store.write(batch));
      } catch (err) {
        this.status.failed += batch.length;
        this.queue.requeue(batch);
        throw err;
      }
    }
    // From here on local changes are written behind again, so none made during the catch-up is left out.
    this.reachable = true;
    this.pump();
    await this.rewrite();
    this.remoteMode = 'hold';
    await this.store.load((batch) => this.applyBatch(batch));
    for (const change of this.held) this.apply(change);
    this.held = [];
    this.remoteMode = 'apply';
  }

  private sync(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.syncing) {
      this.again = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      do {
        this.again = false;
        try {
          await this.catchUp();
          this.retryDelay = RETRY_MIN_MS;
          this.status.lastSync = this.clock.now();
          this.setState('up');
        } catch (err) {
          this.reachable = false;
          this.remoteMode = 'drop';
          this.setState('down', toSipLocateError(err, 'ESTOREDOWN', 'The state store could not be read.'));
          this.scheduleRetry();
          return;
        }
      } while (this.again && !this.closed);
    })().finally(() => {
      this.syncing = undefined;
      this.pump();
    });
    return this.syncing;
  }

  private async flush(): Promise<void> {
    if (this.status.lastSync === undefined) return;
    if (this.reachable && (this.queue.size > 0 || this.inFlight > 0 || this.rewriting || this.queue.dropped)) {
      await new Promise<void>((resolve) => {
        this.drained.push(resolve);
        this.pump();
      });
    }
    await this.store.flush();
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopFollowing();
    clearTimeout(this.retryTimer);
    this.listeners.clear();
    await this.syncing?.catch(() => undefined);
    await this.flush().catch(() => undefined);
    this.wakeDrained();
    await this.store.close().catch(() => undefined);
  }
}
