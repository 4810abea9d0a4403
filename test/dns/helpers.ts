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
