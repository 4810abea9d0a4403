import type { LookupAddress, SystemLookup } from './lookup';

/** Default most OS look-ups in flight at once (libuv runs getaddrinfo on its 4-thread pool, shared with file I/O). */
export const MAX_LOOKUPS_IN_FLIGHT = 8;
/** Default most OS look-ups waiting for a slot; more fail at once with EOVERLOAD. */
export const MAX_LOOKUPS_WAITING = 1000;

/** A SystemLookup with its counters, for tests and the bound. */
export interface LimitedLookup extends SystemLookup {
  /** Look-ups running now. */
  readonly inFlight: () => number;
  /** Look-ups waiting for a slot now. */
  readonly waiting: () => number;
}

/**
 * Wraps an OS resolver: identical look-ups in flight are merged, at most `maxInFlight` run at once, at most
 * `maxWaiting` wait (more are refused at once with code EOVERLOAD), so a flood cannot fill libuv's thread pool.
 */
export function limitLookups(
  lookup: SystemLookup,
  maxInFlight = MAX_LOOKUPS_IN_FLIGHT,
  maxWaiting = MAX_LOOKUPS_WAITING,
): LimitedLookup {
  let running = 0;
  const queue: Array<() => void> = [];
  const pending = new Map<string, Promise<LookupAddress[]>>();
  const release = (): void => {
    running--;
    const next = queue.shift();
    if (next) next();
  };
  const run = (host: string, family: 0 | 4 | 6): Promise<LookupAddress[]> =>
    new Promise<LookupAddress[]>((resolve, reject) => {
      const start = (): void => {
        running++;
        let call: Promise<LookupAddress[]>;
        try {
          call = lookup(host, family);
        } catch (err) {
          call = Promise.reject(err);
        }
        call.then(resolve, reject).finally(release);
      };
      if (running < maxInFlight) start();
      else if (queue.length < maxWaiting) queue.push(start);
      else
        reject(
          Object.assign(new Error(`${maxWaiting} operating-system look-ups are already waiting`), {
            code: 'EOVERLOAD',
          }),
        );
    });
  const limited = (host: string, family: 0 | 4 | 6): Promise<LookupAddress[]> => {
    const key = `${family}|${host}`;
    const known = pending.get(key);
    if (known) return known;
    const p = run(host, family).finally(() => pending.delete(key));
    pending.set(key, p);
    return p;
  };
  return Object.assign(limited, { inFlight: () => running, waiting: () => queue.length });
}
