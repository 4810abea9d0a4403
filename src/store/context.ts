/** A state store on a Node-RED context store (e.g. localfilesystem): marks and pins survive restarts of one instance. */
import { SipLocateError } from '../core/errors';
import type { AdminRecord, LocatorState, MarkRecord, PinRecord, PlanRecord } from '../core/types';
import { readAdmin, readMark, readPin, readPlan } from './records';
import { withStoreTimeout } from './timeout';
import type { StateStore, StoreEvents, WriteOutcome } from './types';

/** The part of a Node-RED context object this store uses (the callback forms work with every context store). */
export interface ContextLike {
  get(key: string, store: string | undefined, callback: (err: Error | null | undefined, value?: unknown) => void): void;
  set(key: string, value: unknown, store: string | undefined, callback: (err?: Error | null) => void): void;
}

/** Options of createContextStore(). */
export interface ContextStoreOptions {
  /** The context store name from settings.js (undefined: the default store). */
  store?: string;
  /** The marks and pins to save, and the last good plans when the state has them. */
  snapshot: () => LocatorState;
  /** Changes within this many ms are saved together (default 100). */
  coalesceMs?: number;
  /** Deadline for one context read or write, ms (default 5000). */
  timeoutMs?: number;
  clock?: { now(): number };
}

/** The context key holding the saved state. */
export const CONTEXT_KEY = 'sipLocateState';

/** What is saved under CONTEXT_KEY. */
interface Saved {
  v: 1;
  savedAt: number;
  marks: MarkRecord[];
  pins: PinRecord[];
  /** Operator states (absent in state saved before they existed). */
  admin?: AdminRecord[];
  /** Last good plans (absent in states saved before they were kept). */
  plans?: PlanRecord[];
}

/** Creates a store that saves the whole (small) state to one context key, coalescing bursts of changes. */
export function createContextStore(context: ContextLike, options: ContextStoreOptions): StateStore {
  const coalesceMs = options.coalesceMs ?? 100;
  const timeoutMs = options.timeoutMs ?? 5000;
  const clock = options.clock ?? { now: Date.now };
  let events: StoreEvents | undefined;
  let timer: NodeJS.Timeout | undefined;
  let waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];
  // Until the saved state has been read, nothing is saved: a save could only overwrite it with less.
  let loaded = false;
  let skipped = false;

  const get = (): Promise<unknown> =>
    withStoreTimeout(
      new Promise((resolve, reject) => {
        context.get(CONTEXT_KEY, options.store, (err, value) => (err ? reject(storeError(err)) : resolve(value)));
      }),
      timeoutMs,
      'context get',
    );

  const set = (value: Saved): Promise<void> =>
    withStoreTimeout(
      new Promise<void>((resolve, reject) => {
        context.set(CONTEXT_KEY, value, options.store, (err) => (err ? reject(storeError(err)) : resolve()));
      }),
      timeoutMs,
      'context set',
    );

  /** Saves the snapshot when changes wait (or always, when forced) and settles the waiting writes. */
  const save = async (force: boolean): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    const batch = waiting;
    waiting = [];
    if (batch.length === 0 && !force) return;
    try {
      const { marks, pins, admin, plans } = options.snapshot();
      await set({
        v: 1,
        savedAt: clock.now(),
        marks,
        pins,
        ...(admin && admin.length > 0 ? { admin } : {}),
        ...(plans && plans.length > 0 ? { plans } : {}),
      });
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
      throw err;
    }
  };

  /** From now on changes are saved; one save catches up the changes made before. */
  const markLoaded = (): void => {
    loaded = true;
    if (skipped) {
      skipped = false;
      waiting.push({ resolve: () => undefined, reject: () => undefined });
      timer ??= setTimeout(() => {
        save(false).catch((err: unknown) => events?.down(storeError(err)));
      }, coalesceMs);
    }
  };

  return {
    kind: 'context',
    start(e) {
      events = e;
      setImmediate(() => e.up());
    },
    async load(apply) {
      const value = await get();
      const out: LocatorState = { marks: [], pins: [] };
      if (value === undefined || value === null) {
        markLoaded();
        return;
      }
      const saved = value as Partial<Saved>;
      if (typeof value !== 'object' || saved.v !== 1 || !Array.isArray(saved.marks) || !Array.isArray(saved.pins)) {
        events?.invalid(
          new SipLocateError(
            'ESTORERECORD',
            `The context key ${CONTEXT_KEY} does not hold sip-locate state; it will be overwritten.`,
          ),
        );
        markLoaded();
        return;
      }
      const now = clock.now();
      for (const m of saved.marks) {
        const mark = readMark(m);
        if (!mark) events?.invalid(new SipLocateError('ESTORERECORD', 'A saved mark is invalid and was ignored.'));
        else if (mark.expiresAt > now) out.marks.push(mark);
      }
      for (const p of saved.pins) {
        const pin = readPin(p);
        if (!pin) events?.invalid(new SipLocateError('ESTORERECORD', 'A saved pin is invalid and was ignored.'));
        else if (pin.expiresAt > now) out.pins.push(pin);
      }
      if (Array.isArray(saved.admin)) {
        out.admin = [];
        for (const a of saved.admin) {
          const admin = readAdmin(a);
          if (!admin)
            events?.invalid(new SipLocateError('ESTORERECORD', 'A saved operator state is invalid and was ignored.'));
          else if (admin.expiresAt === undefined || admin.expiresAt > now) out.admin.push(admin);
        }
      }
      if (saved.plans !== undefined) {
        const plans: PlanRecord[] = [];
        for (const p of Array.isArray(saved.plans) ? saved.plans : [saved.plans]) {
          const plan = readPlan(p);
          if (!plan) events?.invalid(new SipLocateError('ESTORERECORD', 'A saved plan is invalid and was ignored.'));
          else if (plan.expiresAt > now) plans.push(plan);
        }
        out.plans = plans;
      }
      markLoaded();
      apply(out);
    },
    write(changes) {
      const done = changes.map((): WriteOutcome => ({}));
      if (!loaded) {
        skipped = true;
        return Promise.resolve(done);
      }
      // The whole state is saved at once, so a batch of any size costs one (coalesced) save.
      return new Promise<WriteOutcome[]>((resolve, reject) => {
        waiting.push({ resolve: () => resolve(done), reject });
        if (!timer) {
          timer = setTimeout(() => {
            save(false).catch((err: unknown) => events?.down(storeError(err)));
          }, coalesceMs);
        }
      });
    },
    flush() {
      return loaded ? save(true) : Promise.resolve();
    },
    async close() {
      await save(false);
    },
  };
}

function storeError(err: unknown): SipLocateError {
  if (err instanceof SipLocateError) return err;
  return new SipLocateError(
    'ESTOREDOWN',
    `The context store failed: ${err instanceof Error ? err.message : String(err)}`,
    {},
    { cause: err },
  );
}
