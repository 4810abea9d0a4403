/** A deadline for store operations, so a store that hangs cannot hold a catch-up forever. */
import { SipLocateError } from '../core/errors';

/** Resolves or rejects like `work`, or rejects with ESTORETIMEOUT after ms. */
export function withStoreTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SipLocateError('ESTORETIMEOUT', `The state store did not answer within ${ms} ms (${what}).`)), ms);
    timer.unref();
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
