/**
 * The one deadline helper: a piece of work gets one timer and one link to its caller's signal, and both are
 * released when the work settles. A leaf module (imports only node:events), so every layer, dns/ included, can use it.
 */
import { setMaxListeners } from 'node:events';

/** How long work may take, the caller's signal, and the errors to reject with. */
export interface DeadlineOptions {
  /** Milliseconds until the work's signal aborts and the result rejects with `timeout()`. Infinity: no timer. */
  ms: number;
  /** The caller's signal: when it aborts, so does the work, and the result rejects with `cancelled()`. */
  signal?: AbortSignal | undefined;
  /** The error for a deadline that passed. */
  timeout: () => Error;
  /** The error for a caller that aborted (default: the signal's reason when it is an Error, else timeout()). */
  cancelled?: () => Error;
  /** Keep the process alive for this timer (default false: a deadline alone never holds the process open). */
  ref?: boolean;
  /**
   * The most parts of the work that listen on its signal at once (its fan-out, e.g. a locate's question budget):
   * declared on the signal, so a wide but bounded fan-out is not reported as a listener leak. Default: Node's 10.
   */
  fanOut?: number;
}

/** A signal that aborts when its parent does or when abort() is called; dispose() detaches it from the parent. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
  dispose(): void;
}

/** Links a new AbortController to `parent` (if any) with one listener, removed again by dispose(). */
export function linkSignal(parent?: AbortSignal): LinkedSignal {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: (reason?: unknown) => controller.abort(reason),
    dispose: () => parent?.removeEventListener('abort', onAbort),
  };
}

/**
 * Runs work(signal) under a deadline: resolves or rejects as the work does, or rejects with `timeout()` after
 * `ms` or `cancelled()` when the caller aborts; in both cases the work's signal aborts so it can stop. The
 * timer and the listener are removed as soon as the result settles.
 */
export function withDeadline<T>(work: (signal: AbortSignal) => Promise<T>, o: DeadlineOptions): Promise<T> {
  const link = linkSignal(o.signal);
  if (o.fanOut !== undefined && o.fanOut > 10) setMaxListeners(o.fanOut, link.signal);
  const cancelled = (): Error =>
    o.cancelled ? o.cancelled() : o.signal?.reason instanceof Error ? o.signal.reason : o.timeout();
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      if (timer) clearTimeout(timer);
      link.signal.removeEventListener('abort', onAbort);
      link.dispose();
      return true;
    };
    const onAbort = (): void => {
      if (finish()) reject(cancelled());
    };
    if (link.signal.aborted) {
      finish();
      reject(cancelled());
      return;
    }
    link.signal.addEventListener('abort', onAbort, { once: true });
    if (Number.isFinite(o.ms)) {
      timer = setTimeout(
        () => {
          if (!finish()) return;
          link.abort();
          reject(o.timeout());
        },
        Math.max(0, o.ms),
      );
      if (o.ref !== true) timer.unref();
    }
    let started: Promise<T>;
    try {
      started = work(link.signal);
    } catch (err) {
      if (finish()) reject(err);
      return;
    }
    started.then(
      (value) => {
        if (finish()) resolve(value);
      },
      (err: unknown) => {
        if (finish()) reject(err);
      },
    );
  });
}
