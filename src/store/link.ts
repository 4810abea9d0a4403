/** Keeps a locator's marks and pins and a state store in step: write-through, catch-up after an outage, remote changes in. */
import { toSipLocateError, type SipLocateError } from '../core/errors';
import { targetKeyOf } from '../core/failover/marks';
import type { Locator, StateChange } from '../core/types';
import type { StateStore, StoreStatus } from './types';

/** Deletions remembered while the store is away; older ones are dropped beyond this (their records expire anyway). */
const MAX_PENDING = 10_000;
/** Retry delays after a failed catch-up, ms. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

/** A running link between one locator and one store. */
export interface StoreLink {
  /** How the store is doing. */
  status(): StoreStatus;
  /** Calls listener whenever status().state changes; returns a function that stops it. */
  onStatus(listener: (status: StoreStatus) => void): () => void;
  /** Writes out what the store buffers (after the first catch-up only, so an unread store is never overwritten). */
  flush(): Promise<void>;
  /** Stops following the locator, flushes and closes the store. */
  close(): Promise<void>;
}

/** The key under which a deletion is remembered, so a later one for the same record replaces it. */
function pendingKey(change: StateChange): string | undefined {
  switch (change.op) {
    case 'unmark': return `m ${targetKeyOf(change.target)}`;
    case 'unpin': return `p ${change.destination}`;
    case 'reset': return 'reset';
    default: return undefined;
  }
}

/** Links a locator to a store: reads never wait for the store; it is written behind and caught up when it returns. */
export function linkStore(locator: Locator, store: StateStore, clock: { now(): number } = { now: Date.now }): StoreLink {
  const status: StoreStatus = { kind: store.kind, state: 'connecting', since: clock.now(), written: 0, failed: 0, received: 0, invalid: 0, pending: 0 };
  const listeners = new Set<(s: StoreStatus) => void>();
  const pending = new Map<string, StateChange>();
  let reachable = false;
  // Remote changes: dropped until a catch-up reads the store (the read covers them), held while it reads, applied after.
  let remoteMode: 'drop' | 'hold' | 'apply' = 'drop';
  let held: StateChange[] = [];
  let closed = false;
  let syncing: Promise<void> | undefined;
  let again = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelay = RETRY_MIN_MS;

  const snapshot = (): StoreStatus => ({ ...status, pending: pending.size, ...(status.error ? { error: { ...status.error } } : {}) });
  const setState = (state: StoreStatus['state'], error?: SipLocateError): void => {
    if (error) status.error = { code: error.code, message: error.message };
    else if (state === 'up') delete status.error;
    if (status.state === state) return;
    status.state = state;
    status.since = clock.now();
    const s = snapshot();
    for (const l of listeners) {
      try {
        l(s);
      } catch {
        // a status listener must not break the link
      }
    }
  };

  const remember = (change: StateChange): void => {
    const key = pendingKey(change);
    if (key === undefined) return;
    if (key === 'reset') pending.clear();
    pending.delete(key);
    pending.set(key, change);
    if (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value as string);
  };

  const failed = (err: unknown): void => {
    status.failed++;
    reachable = false;
    remoteMode = 'drop';
    setState('down', toSipLocateError(err, 'ESTOREDOWN', 'The state store did not take a change.'));
    scheduleRetry();
  };

  const write = (change: StateChange): void => {
    store.write(change).then(
      (winner) => {
        status.written++;
        if (winner) locator.apply({ op: 'pin', pin: winner });
      },
      (err: unknown) => {
        remember(change);
        failed(err);
      },
    );
  };

  const scheduleRetry = (): void => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void sync();
    }, retryDelay);
    retryTimer.unref();
    retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
  };

  /**
   * Replays deletions, writes what memory holds (marks first, so the store can tell a stale pin: earlier writers win
   * otherwise), then takes everything the store holds.
   */
  const catchUp = async (): Promise<void> => {
    remoteMode = 'drop';
    held = [];
    for (const [key, change] of [...pending]) {
      await store.write(change);
      if (pending.get(key) === change) pending.delete(key);
    }
    // From here on local changes are written through, so none made during the catch-up is left behind.
    reachable = true;
    const mine = locator.state();
    await Promise.all(mine.marks.map((mark) => store.write({ op: 'mark', mark })));
    const winners = await Promise.all(mine.pins.map((pin) => store.write({ op: 'pin', pin })));
    for (const pin of winners) if (pin) locator.apply({ op: 'pin', pin });
    remoteMode = 'hold';
    const stored = await store.load();
    for (const mark of stored.marks) locator.apply({ op: 'mark', mark });
    for (const pin of stored.pins) locator.apply({ op: 'pin', pin });
    for (const change of held) locator.apply(change);
    held = [];
    remoteMode = 'apply';
  };

  const sync = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (syncing) {
      again = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        again = false;
        try {
          await catchUp();
          retryDelay = RETRY_MIN_MS;
          status.lastSync = clock.now();
          setState('up');
        } catch (err) {
          reachable = false;
          remoteMode = 'drop';
          setState('down', toSipLocateError(err, 'ESTOREDOWN', 'The state store could not be read.'));
          scheduleRetry();
          return;
        }
      } while (again && !closed);
    })().finally(() => {
      syncing = undefined;
    });
    return syncing;
  };

  const stopFollowing = locator.onChange((change) => {
    if (closed) return;
    if (reachable) write(change);
    else remember(change);
  });

  store.start({
    up: () => {
      void sync();
    },
    down: (error) => {
      reachable = false;
      remoteMode = 'drop';
      setState('down', error);
    },
    remote: (change) => {
      status.received++;
      if (remoteMode === 'apply') locator.apply(change);
      else if (remoteMode === 'hold') {
        if (held.length < MAX_PENDING) held.push(change);
        else again = true; // too many to hold: read the store once more
      }
    },
    invalid: () => {
      status.invalid++;
    },
  });

  return {
    status: snapshot,
    onStatus(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async flush() {
      if (status.lastSync !== undefined) await store.flush();
    },
    async close() {
      if (closed) return;
      closed = true;
      stopFollowing();
      clearTimeout(retryTimer);
      listeners.clear();
      await syncing?.catch(() => undefined);
      if (status.lastSync !== undefined) await store.flush().catch(() => undefined);
      await store.close().catch(() => undefined);
    },
  };
}
