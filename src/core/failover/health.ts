/** What scheduled probing believes about each target: up, down or unknown, with counters and the last result. */
import { SipLocateError } from '../errors';
import type { Clock, TargetKey } from '../types';
import { targetId } from '../target';

/** A target's health: unknown until enough probes in a row agree. */
export type HealthState = 'up' | 'down' | 'unknown';

/** One target's health as the state endpoint shows it. */
export interface HealthRecord extends TargetKey {
  /** The host name the target was found under. */
  host: string;
  state: HealthState;
  /** When the state began (ms since the epoch). */
  since: number;
  /** Round trip of the last answered probe, ms. */
  rttMs?: number;
  /** Status code of the last final response. */
  lastCode?: number;
  /** Why the last failed probe failed. */
  lastError?: string;
}

/** The result of one probe, as the scheduler reports it. */
export interface ProbeOutcome {
  /** True when the reply counts as alive (monitorUpCodes). */
  alive: boolean;
  host?: string;
  rttMs?: number;
  code?: number;
  error?: string;
}

/** How many probes in a row change the state, and how long an unprobed record is believed. */
export interface HealthSettings {
  /** Failures in a row that make a target down (default 2). */
  downAfter: number;
  /** Successes in a row that make a target up (default 2). */
  upAfter: number;
  /** A record not probed for this long counts as unknown (ms; default 60000). */
  staleMs: number;
}

/** Most targets whose health is kept; the least recently probed one is dropped beyond it. */
export const MAX_HEALTH = 10_000;

class Entry implements HealthRecord {
  successes = 0;
  failures = 0;
  probedAt = 0;
  rttMs?: number;
  lastCode?: number;
  lastError?: string;
  constructor(
    readonly transport: HealthRecord['transport'],
    readonly address: string,
    readonly port: number,
    public host: string,
    public state: HealthState,
    public since: number,
  ) {}
}

/** Checks one threshold setting; throws EINVALIDOPTION. */
function count(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1 || value > 100)
    throw new SipLocateError('EINVALIDOPTION', `${name} must be a whole number from 1 to 100.`, { option: name });
  return value;
}

/** Health of targets by key: at most `max`, least recently probed dropped first. */
export class Health {
  private readonly map = new Map<string, Entry>();
  private settings: HealthSettings = { downAfter: 2, upAfter: 2, staleMs: 60_000 };

  constructor(
    private readonly clock: Clock,
    private readonly max: number = MAX_HEALTH,
  ) {}

  /** Sets the thresholds (the monitor's monitorDownAfter and monitorUpAfter); throws EINVALIDOPTION. */
  configure(settings: Partial<HealthSettings>): void {
    const next = { ...this.settings, ...settings };
    count(next.downAfter, 'monitorDownAfter');
    count(next.upAfter, 'monitorUpAfter');
    if (!(next.staleMs > 0))
      throw new SipLocateError('EINVALIDOPTION', 'The health stale time must be positive.', { option: 'staleMs' });
    this.settings = next;
  }

  /** Number of records held. */
  get size(): number {
    return this.map.size;
  }

  /** Counts a probe; returns the new state when this probe changed it, else undefined. */
  record(t: TargetKey, outcome: ProbeOutcome): HealthState | undefined {
    const now = this.clock.now();
    const key = targetId(t);
    let e = this.map.get(key);
    if (e) this.map.delete(key);
    else {
      while (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
      e = new Entry(t.transport, t.address, t.port, outcome.host ?? t.address, 'unknown', now);
    }
    this.map.set(key, e); // most recently probed last
    if (this.isStale(e, now)) {
      // Not probed for a while: what it was no longer counts.
      e.state = 'unknown';
      e.since = now;
      e.successes = e.failures = 0;
    }
    e.probedAt = now;
    if (outcome.host) e.host = outcome.host;
    e.lastCode = outcome.code;
    if (outcome.rttMs !== undefined) e.rttMs = Math.round(outcome.rttMs * 10) / 10;
    let next: HealthState = e.state;
    if (outcome.alive) {
      e.successes++;
      e.failures = 0;
      e.lastError = undefined;
      if (e.successes >= this.settings.upAfter) next = 'up';
    } else {
      e.failures++;
      e.successes = 0;
      e.lastError = outcome.error;
      if (e.failures >= this.settings.downAfter) next = 'down';
    }
    if (next === e.state) return undefined;
    e.state = next;
    e.since = now;
    return next;
  }

  /** The state of a target now (unknown when never or not recently probed). */
  state(t: TargetKey): HealthState {
    if (this.map.size === 0) return 'unknown';
    const e = this.map.get(targetId(t));
    return !e || this.isStale(e, this.clock.now()) ? 'unknown' : e.state;
  }

  /** Every record, stale ones shown as unknown, sorted by transport, address and port. */
  list(): HealthRecord[] {
    const now = this.clock.now();
    const out: HealthRecord[] = [];
    for (const e of this.map.values()) {
      const stale = this.isStale(e, now);
      const r: HealthRecord = {
        transport: e.transport,
        address: e.address,
        port: e.port,
        host: e.host,
        state: stale ? 'unknown' : e.state,
        since: stale ? e.probedAt + this.settings.staleMs : e.since,
      };
      if (e.rttMs !== undefined) r.rttMs = e.rttMs;
      if (e.lastCode !== undefined) r.lastCode = e.lastCode;
      if (e.lastError !== undefined) r.lastError = e.lastError;
      out.push(r);
    }
    return out.sort(
      (a, b) => a.transport.localeCompare(b.transport) || a.address.localeCompare(b.address) || a.port - b.port,
    );
  }

  /** Drops a target's record (it is no longer monitored). */
  forget(t: TargetKey): void {
    this.map.delete(targetId(t));
  }

  /** Drops every record. */
  clear(): void {
    this.map.clear();
  }

  private isStale(e: Entry, now: number): boolean {
    return e.probedAt > 0 && now - e.probedAt > this.settings.staleMs;
  }
}
