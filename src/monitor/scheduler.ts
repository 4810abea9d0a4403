/** Scheduled health probing: locates the monitored URIs and sends OPTIONS to every target they yield, spread over the interval. */
import { setMaxListeners } from 'node:events';
import { SipLocateError } from '../core/errors';
import type { SipLocator } from '../core/locator';
import { targetId, targetLabel } from '../core/target';
import type { ProbeOutcome } from '../core/failover/health';
import type { Target } from '../core/types';
import { sendOptions, type ProbeResult } from '../probe/prober';
import { UdpProbeChannel, type UdpProbePlan } from '../probe/udp-channel';
import type { MonitorSettings } from './settings';

/** Most targets one monitor probes; targets beyond it are left out (and reported once). */
export const MAX_MONITORED_TARGETS = 10_000;
/** Share of the interval each wait varies by, so probes of many resolvers do not fall into step. */
const JITTER = 0.1;
/**
 * Probes due within one slot of the schedule are sent together, on one timer: a twentieth of the interval, between
 * 10 and 500 ms. Waking the process once per batch rather than once per target saves much of what probing costs.
 */
export function slotMsOf(intervalMs: number): number {
  return Math.min(500, Math.max(10, intervalMs / 20));
}

/** RFC 3261's T1, ms: the ceiling of a probe's first retransmission delay (and its value before any round trip is known). */
export const T1_CEILING_MS = 500;
/** Least first retransmission delay of a probe, ms: below it, a busy host's scheduling noise looks like loss. */
export const T1_FLOOR_MS = 20;
/** Granularity of an adapted T1, ms. */
const T1_STEP_MS = 10;

/**
 * A target's T1 from its probe round trips: twice the smoothed round trip (weight 1/8, as RFC 6298), within
 * [T1_FLOOR_MS, ceiling]. A round trip at or past the T1 in use may belong to a retransmission, so it is not taken
 * (Karn's rule); a probe that failed doubles T1 (RFC 6298 5.5), so a slower path is followed.
 */
export function nextT1(
  srttMs: number | undefined,
  t1Ms: number,
  rttMs: number | undefined,
  ceilingMs: number,
): { srttMs: number | undefined; t1Ms: number } {
  if (rttMs === undefined) return { srttMs, t1Ms: Math.min(ceilingMs, t1Ms * 2) };
  if (rttMs >= t1Ms) return { srttMs, t1Ms };
  const srtt = srttMs === undefined ? rttMs : srttMs + (rttMs - srttMs) / 8;
  // In steps of T1_STEP_MS, so that the probe plan (built per T1) is not rebuilt for every small change.
  return {
    srttMs: srtt,
    t1Ms: Math.min(ceilingMs, Math.max(T1_FLOOR_MS, Math.ceil((srtt * 2) / T1_STEP_MS) * T1_STEP_MS)),
  };
}

/** What the monitor needs besides its settings (replaceable in tests). */
export interface MonitorDeps {
  send?: typeof sendOptions;
  random?: () => number;
  /** The clock in ms (default performance.now); tests that mock the timers pass theirs. */
  now?: () => number;
  /** Told about a URI that cannot be located, or a bound reached; once per new problem. */
  onProblem?: (uri: string, err: SipLocateError) => void;
  /** Told about each finished probe (for metrics): alive or not, the status code or error, the round trip. */
  onProbe?: (outcome: ProbeOutcome) => void;
  maxTargets?: number;
}

/** One target being probed. */
interface Watched {
  /** Its key in the watched map. */
  key: string;
  target: Target;
  /** The monitored URIs that yield it. */
  uris: Set<string>;
  /** Its target checked for the UDP channel (again whenever discovery hands over the target anew). */
  plan?: UdpProbePlan;
  /** Smoothed probe round trip, ms (undefined before the first answer on a first copy). */
  srttMs?: number;
  /** The T1 its probes use, ms (undefined: the ceiling). */
  t1Ms?: number;
  /** The slot of the schedule it waits in, if any. */
  slot?: number;
  probing?: Promise<void>;
}

/** Probes the targets of a list of URIs every interval until closed; results go to locator.probed(). */
export class Monitor {
  private readonly watched = new Map<string, Watched>();
  private readonly stop = new AbortController();
  private readonly send: typeof sendOptions;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly maxTargets: number;
  /** UDP probes share its sockets and timer; made unless deps.send replaces the prober. */
  private readonly channel?: UdpProbeChannel;
  private readonly slotMs: number;
  /** Targets waiting for their next probe, by slot (time / slotMs, rounded up). */
  private readonly slots = new Map<number, Set<Watched>>();
  private slotTimer?: NodeJS.Timeout;
  private armedSlot = Infinity;
  /** The targets each URI yielded last round, when all of them are watched (one entry per monitored URI). */
  private readonly seen = new Map<string, readonly Target[]>();
  /** The last problem reported per URI, so a lasting one is told once. */
  private readonly problems = new Map<string, string>();
  private roundTimer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private closed = false;

  constructor(
    private readonly locator: SipLocator,
    private readonly settings: MonitorSettings,
    private readonly deps: MonitorDeps = {},
  ) {
    this.send = deps.send ?? sendOptions;
    if (!deps.send) this.channel = new UdpProbeChannel();
    this.slotMs = slotMsOf(settings.intervalMs);
    this.random = deps.random ?? Math.random;
    this.now = deps.now ?? (() => performance.now());
    this.maxTargets = deps.maxTargets ?? MAX_MONITORED_TARGETS;
    setMaxListeners(0, this.stop.signal); // one listener per look-up and probe in flight, each removed when it ends
    locator.health.configure({
      downAfter: settings.downAfter,
      upAfter: settings.upAfter,
      staleMs: Math.max(60_000, 3 * (settings.intervalMs + settings.timeoutMs)),
    });
  }

  /** Starts the first round now. */
  start(): void {
    if (this.closed || this.round || this.roundTimer) return;
    this.discover();
  }

  /** Targets being probed now. */
  get size(): number {
    return this.watched.size;
  }

  /** Stops probing: aborts probes and look-ups in flight and resolves once they have ended; no timer is left. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop.abort();
    clearTimeout(this.roundTimer);
    clearTimeout(this.slotTimer);
    this.slots.clear();
    const pending: Array<Promise<void>> = this.round ? [this.round] : [];
    for (const w of this.watched.values()) if (w.probing) pending.push(w.probing);
    this.watched.clear();
    await Promise.allSettled(pending);
    await this.channel?.close();
  }

  /** A wait of about `ms`, give or take the jitter. */
  private jittered(ms: number): number {
    return ms * (1 - JITTER + 2 * JITTER * this.random());
  }

  /** Locates every URI (the locator's cache re-asks DNS only when its data expires), then schedules the next round. */
  private discover(): void {
    this.roundTimer = undefined;
    this.round = Promise.all(this.settings.uris.map((uri) => this.locateOne(uri))).then(() => {
      this.round = undefined;
      if (this.closed) return;
      this.roundTimer = setTimeout(() => this.discover(), this.jittered(this.settings.intervalMs));
    });
  }

  private async locateOne(uri: string): Promise<void> {
    let targets: readonly Target[];
    try {
      targets = await this.locator.probeTargets(uri, this.stop.signal);
    } catch (err) {
      // Keep probing what the URI yielded before: a DNS outage is no reason to stop watching the servers.
      if (!this.closed)
        this.problem(uri, err instanceof SipLocateError ? err : new SipLocateError('EINTERNAL', String(err)));
      return;
    }
    if (this.closed) return;
    this.problems.delete(uri);
    // The same array as last round: the DNS data is unchanged, and so is what this URI watches.
    if (this.seen.get(uri) === targets) return;
    this.seen.delete(uri);
    let complete = true;
    const keys = new Set<string>();
    for (const t of targets) {
      const key = targetId(t);
      keys.add(key);
      const known = this.watched.get(key);
      if (known) {
        known.uris.add(uri);
        // Same key; a new host name means a new request (and plan). Keeping the old objects otherwise spares the
        // collector a thousand targets promoted and dropped every round.
        if (known.target.host !== t.host) {
          known.target = t;
          known.plan = undefined;
        }
        continue;
      }
      if (this.watched.size >= this.maxTargets) {
        this.problem(
          uri,
          new SipLocateError(
            'EOVERLOAD',
            `Monitoring stops adding targets at ${this.maxTargets}; ${targetLabel(t)} is not probed.`,
          ),
        );
        complete = false;
        continue;
      }
      const w: Watched = { key, target: t, uris: new Set([uri]) };
      this.watched.set(key, w);
      // The first probes of new targets are spread over the interval.
      this.schedule(w, this.random() * this.settings.intervalMs);
    }
    for (const [key, w] of this.watched) {
      if (!w.uris.has(uri) || keys.has(key)) continue;
      w.uris.delete(uri);
      if (w.uris.size === 0) this.unwatch(key, w);
    }
    if (complete) this.seen.set(uri, targets);
  }

  private problem(uri: string, err: SipLocateError): void {
    const text = `${err.code} ${err.message}`;
    if (this.problems.get(uri) === text) return;
    if (this.problems.size >= 4 * this.settings.uris.length + 16) this.problems.clear();
    this.problems.set(uri, text);
    this.deps.onProblem?.(uri, err);
  }

  private unwatch(key: string, w: Watched): void {
    // The URIs that yield it look again next round, as they would for a target seen for the first time.
    for (const uri of w.uris) this.seen.delete(uri);
    this.unslot(w);
    if (this.watched.get(key) === w) this.watched.delete(key);
  }

  /** Puts the target in the slot its next probe is due in, and makes sure the timer fires for that slot. */
  private schedule(w: Watched, delayMs: number): void {
    if (this.closed) return;
    this.unslot(w);
    const slot = Math.ceil((this.now() + Math.max(0, delayMs)) / this.slotMs);
    w.slot = slot;
    let due = this.slots.get(slot);
    if (!due) {
      due = new Set();
      this.slots.set(slot, due);
    }
    due.add(w);
    this.arm(slot);
  }

  private unslot(w: Watched): void {
    if (w.slot === undefined) return;
    const due = this.slots.get(w.slot);
    due?.delete(w);
    if (due?.size === 0) this.slots.delete(w.slot);
    w.slot = undefined;
  }

  private arm(slot: number): void {
    if (this.closed || slot >= this.armedSlot) return;
    clearTimeout(this.slotTimer);
    this.armedSlot = slot;
    this.slotTimer = setTimeout(() => this.fire(), Math.max(0, slot * this.slotMs - this.now()));
  }

  /** Probes every target of the slot the timer was set for (and of earlier ones), then sets the timer for the next slot. */
  private fire(): void {
    const upTo = this.armedSlot;
    this.slotTimer = undefined;
    this.armedSlot = Infinity;
    let next = Infinity;
    for (const [slot, due] of [...this.slots]) {
      if (slot > upTo) {
        next = Math.min(next, slot);
        continue;
      }
      this.slots.delete(slot);
      for (const w of due) {
        w.slot = undefined;
        if (this.watched.get(w.key) !== w || w.probing) continue;
        w.probing = this.probe(w.key, w).finally(() => {
          w.probing = undefined;
        });
      }
    }
    if (Number.isFinite(next)) this.arm(next);
  }

  /** Sends one OPTIONS to a target (never two at once: the next is scheduled when this one ends). */
  private async probe(key: string, w: Watched): Promise<void> {
    const target = w.target;
    const started = this.now();
    let result: ProbeResult;
    try {
      result = await this.sendTo(w);
    } catch (err) {
      // Cancelled on close, or a target that cannot go into a request: no probe result either way.
      if (!this.closed && err instanceof SipLocateError && err.code !== 'ECANCELLED') {
        this.problem([...w.uris][0] ?? '', err);
        this.unwatch(key, w);
      }
      return;
    }
    if (this.closed || this.watched.get(key) !== w) return;
    if (result.kind === 'failure' && result.code === 'ENOTRANSPORT') {
      // The prober cannot speak this transport: say so once, and neither call the target down nor up.
      this.problem([...w.uris][0] ?? '', new SipLocateError('ENOTRANSPORT', result.message));
      this.unwatch(key, w);
      return;
    }
    const rttMs = this.now() - started;
    const outcome = { ...this.outcome(result, rttMs), host: target.host };
    const next = nextT1(
      w.srttMs,
      w.t1Ms ?? this.t1CeilingMs(),
      result.kind === 'response' || result.status !== undefined ? rttMs : undefined,
      this.t1CeilingMs(),
    );
    w.srttMs = next.srttMs;
    w.t1Ms = next.t1Ms;
    this.locator.probed(target, outcome);
    this.deps.onProbe?.(outcome);
    this.schedule(w, this.jittered(this.settings.intervalMs) - rttMs);
  }

  /** One OPTIONS to the target: by its plan over the UDP channel, else through the prober. */
  private sendTo(w: Watched): Promise<ProbeResult> {
    const options = {
      timeoutMs: this.settings.timeoutMs,
      t1Ms: w.t1Ms ?? this.t1CeilingMs(),
      signal: this.stop.signal,
    };
    if (!this.channel || w.target.transport !== 'udp') return this.send(w.target, options);
    if (!w.plan || w.plan.checked.t1Ms !== options.t1Ms) {
      const plan = this.channel.plan(w.target, options);
      if (plan instanceof SipLocateError) return Promise.reject(plan);
      w.plan = plan;
    }
    return this.channel.run(w.plan, this.stop.signal);
  }

  /** The T1 ceiling: RFC 3261's 500 ms, or a quarter of the timeout when that is shorter (at least three copies fit). */
  private t1CeilingMs(): number {
    return Math.min(T1_CEILING_MS, this.settings.timeoutMs / 4);
  }

  /** What a probe result means under monitorUpCodes (default: any final response but 503 is alive). */
  private outcome(r: ProbeResult, rttMs: number): ProbeOutcome {
    const up = this.settings.upCodes;
    if (r.kind === 'response') {
      const alive = up ? up.fails(r.status) : true;
      return { alive, rttMs, code: r.status, error: alive ? undefined : `status ${r.status} is not in monitorUpCodes` };
    }
    if (r.status !== undefined) {
      const alive = up ? up.fails(r.status) : false;
      return { alive, rttMs, code: r.status, error: alive ? undefined : r.message };
    }
    return { alive: false, error: r.message };
  }
}
