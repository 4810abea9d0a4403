/** The one polling helper for tests: waits for a condition, never for a fixed time. */

/** How long to wait at most before failing, and what is waited for (shown when it fails). */
export interface UntilOptions {
  what?: string;
  /** Give up after this many ms (a failsafe, not a window the test asserts): default 20 s, for a loaded machine. */
  ms?: number;
}

/** Resolves once `condition()` holds (checked after each turn of the event loop, then every 5 ms); rejects after opts.ms. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  opts: UntilOptions | string = {},
): Promise<void> {
  const o = typeof opts === 'string' ? { what: opts } : opts;
  const ms = o.ms ?? 20_000;
  const end = performance.now() + ms;
  for (let turn = 0; !(await condition()); turn++) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for: ${o.what ?? 'a condition'}`);
    await new Promise<void>((r) => (turn < 10 ? setImmediate(r) : setTimeout(r, 5)));
  }
}
