/** Operator states of targets (drain, disable), with optional expiry, bounded. */
import { SipLocateError } from '../errors';
import type { AdminRecord, AdminState, Clock, TargetKey } from '../types';
import { readTargetKey, targetId } from '../target';

/** Longest an operator state may be set for, seconds (30 days). */
export const MAX_ADMIN_SECONDS = 30 * 86400;

/**
 * The operator state record for a request (untrusted input: a target, a state, optional seconds) set at `now`;
 * throws EINVALIDOPTION with a sentence for a bad one.
 */
export function adminRecordFor(target: unknown, state: unknown, seconds: unknown, now: number): AdminRecord {
  const t = readTargetKey(target);
  if (!t) {
    throw new SipLocateError(
      'EINVALIDOPTION',
      'A target needs a transport (udp, tcp, tls, sctp, ws, wss), an IP address and a port from 1 to 65535.',
      { option: 'target' },
    );
  }
  if (!isAdminState(state))
    throw new SipLocateError('EINVALIDOPTION', 'The state must be drain, disable or enable.', { option: 'state' });
  if (
    seconds !== undefined &&
    (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_ADMIN_SECONDS)
  ) {
    throw new SipLocateError(
      'EINVALIDOPTION',
      `The seconds must be a number above 0 and at most ${MAX_ADMIN_SECONDS}.`,
      { option: 'seconds' },
    );
  }
  const expiry = seconds !== undefined && state !== 'enable' ? { expiresAt: now + Math.round(seconds * 1000) } : {};
  return { ...t, state, since: now, ...expiry };
}

/** Drained and disabled targets: at most `max`; setting one more beyond it drops the oldest. Expired ones are dropped on read. */
export class AdminStates {
  private readonly map = new Map<string, AdminRecord>();

  constructor(
    private readonly clock: Clock,
    private readonly max: number = 10_000,
  ) {}

  /** Number of entries held (expired ones not yet read included). */
  get size(): number {
    return this.map.size;
  }

  /** The state in force for a target, or undefined (enabled). */
  get(t: TargetKey): AdminRecord | undefined {
    if (this.map.size === 0) return undefined;
    const key = targetId(t);
    const r = this.map.get(key);
    if (r && r.expiresAt !== undefined && r.expiresAt <= this.clock.now()) {
      this.map.delete(key);
      return undefined;
    }
    return r;
  }

  /** Puts a record ('enable' deletes); returns true when what is in force changed. */
  put(r: AdminRecord): boolean {
    const key = targetId(r);
    const old = this.get(r);
    if (r.state === 'enable') return this.map.delete(key);
    if (r.expiresAt !== undefined && r.expiresAt <= this.clock.now()) return false;
    const changed = !old || old.state !== r.state || old.expiresAt !== r.expiresAt;
    this.map.delete(key);
    this.map.set(key, {
      transport: r.transport,
      address: r.address,
      port: r.port,
      state: r.state,
      since: r.since,
      ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}),
    });
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
    return changed;
  }

  /** Every live entry, oldest first. */
  list(): AdminRecord[] {
    const now = this.clock.now();
    const out: AdminRecord[] = [];
    for (const [key, r] of this.map) {
      if (r.expiresAt !== undefined && r.expiresAt <= now) this.map.delete(key);
      else out.push({ ...r });
    }
    return out;
  }

  /** Drops every entry. */
  clear(): void {
    this.map.clear();
  }
}

/** True for the three operator states. */
export function isAdminState(v: unknown): v is AdminState {
  return v === 'drain' || v === 'disable' || v === 'enable';
}
