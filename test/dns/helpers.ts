// Small helpers shared by the DNS client tests.
import assert from 'node:assert/strict';
import { SipLocateError } from '../../src/core/errors';

/** The error code a promise rejects with ('resolved' when it does not); anything but a SipLocateError fails the test. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    assert.ok(err instanceof SipLocateError, String(err));
    return err.code;
  }
}

/** Resolves once cond() holds (checked every 5 ms), rejects after `ms`: waits for background work (a probe, a refresh) to settle. */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}
