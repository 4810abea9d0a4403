/** A deadline for store operations, so a store that hangs cannot hold a catch-up forever. */
import { withDeadline } from '../core/deadline';
import { SipLocateError } from '../core/errors';

/** Resolves or rejects like `work`, or rejects with ESTORETIMEOUT after ms (the one deadline helper, core/deadline.ts). */
export function withStoreTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(() => work, {
    ms,
    timeout: () => new SipLocateError('ESTORETIMEOUT', `The state store did not answer within ${ms} ms (${what}).`),
  });
}
