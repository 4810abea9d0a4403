/**
 * One DNS question in flight: its copies to each nameserver (one socket per server), the early copy, retransmissions,
 * the hedged copy, UDP/TCP and the EDNS and 0x20 fallbacks. The Retrier (retries.ts) starts one per question under the
 * limiter; what a reply means is interpret.ts.
 */
import { randomInt } from 'node:crypto';
import { SipLocateError } from '../errors';
import type { Reply } from './codec';
import type { ExchangeOutcome } from './exchange';
import type { NameserverHealth } from './health';
import type { InFlightLimiter } from './limiter';
import { randomiseCase } from './names';
import type { Nameserver } from './nameservers';
import type { RetransmitTimer } from './rto';
import { MAX_COPIES, makeRoom, newSlots, pickSlot, type Slot } from './slots';
import { interpretOutcome } from './interpret';
import { tcpExchange } from './tcp';
import type { DnsClientStats, RecordType } from './types';
import { UdpLane, type LaneOutcome } from './udp';

/** Abort reason of a question's own signal when it ends (it stops a TCP exchange still running). */
const FINISHED = 'question finished';

/** Outcomes that count against a nameserver's health. */
const HEALTH_FAILURES: ReadonlySet<string> = new Set(['ETIMEOUT', 'ECONNREFUSED', 'ESERVFAIL', 'EREFUSED']);

/** What the retry loop needs from its client. */
export interface RetryConfig {
  health: NameserverHealth;
  /** First guess and ceiling of each nameserver's retransmission timeout, ms. */
  timeoutMs: number;
  /** Ceiling of the timeout as it grows per retransmission, ms. */
  maxTimeoutMs: number;
  /** UDP copies of one question per nameserver. */
  tries: number;
  use0x20: boolean;
  /** Send the question to a second healthy nameserver when the first is late (default on). */
  hedge: boolean;
  /** Adapt each nameserver's timeout to its measured round trips (off: timeoutMs, doubled per retransmission). */
  adaptive: boolean;
  limiter: InFlightLimiter;
  counters: DnsClientStats;
  /** Milliseconds clock (0x20 re-probe). */
  now: () => number;
  /** Aborted when the client closes (the signal of background probes). */
  closed: AbortSignal;
}

/** What a question needs from the Retrier that starts it: the settings and the per-nameserver memory. */
export interface QuestionHost {
  readonly config: RetryConfig;
  /** How long the classic schedule waits on one server for `tries` copies, ms. */
  budgetMs(tries: number): number;
  /** The retransmission timer of a nameserver. */
  timerOf(ns: Nameserver): RetransmitTimer;
  /** Whether 0x20 may be used with a server. */
  caseAllowed(label: string): boolean;
  /** Turns 0x20 off for a server for a while. */
  caseFailed(label: string): void;
}

/**
 * One question: copies go out one at a time, each after the timeout of the last; a late server gets a copy
 * hedged to a second healthy server (or a retransmission on its own socket), at most MAX_LANES sockets open;
 * the first valid answer on any of them wins and closes the rest.
 */
export class Question {
  private readonly slots: Slot[];
  /** Aborts a TCP exchange still running when the question ends (made only when TCP is used). */
  private tcpAbort: AbortController | undefined;
  private readonly onAbort = (): void => this.aborted();
  private timer: NodeJS.Timeout | undefined;
  /** The early hedge of the first copy (RetransmitTimer.hedgeAt), if armed. */
  private early: NodeJS.Timeout | undefined;
  /** The socket the early copy went out on. */
  private earlyLane: UdpLane | undefined;
  /** Counts arm() calls: an expiry handled late belongs to the timer armed last, or is dropped. */
  private armed = 0;
  private last: Slot | undefined;
  /** Why the question fails if nothing else answers (a timeout's error is built only then). */
  private lastError: SipLocateError | (() => SipLocateError) | undefined;
  private done = false;
  /** performance.now() when the first copy left. */
  private started = 0;
  private resolve!: (v: { reply: Reply; ns: Nameserver }) => void;
  private reject!: (e: SipLocateError) => void;
  private readonly q: string;
  private readonly cfg: RetryConfig;
  /** Time one server's copies may take beyond `tries` copies (0: no copies beyond `tries`), ms. */
  private readonly budget: number;

  constructor(
    private readonly owner: QuestionHost,
    private readonly qname: string,
    private readonly type: RecordType,
    servers: Nameserver[],
    healthy: number,
    private readonly tries: number,
    private readonly hedge: boolean,
    private readonly signal: AbortSignal,
    private readonly mayHedge?: () => boolean,
  ) {
    this.cfg = owner.config;
    this.q = `${type} ${qname}`;
    this.slots = newSlots(servers, healthy);
    this.budget = tries > 1 ? owner.budgetMs(tries) : 0;
  }

  run(): Promise<{ reply: Reply; ns: Nameserver }> {
    this.started = performance.now();
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      if (this.signal.aborted) return this.aborted();
      // One listener on the caller's signal, removed when the question ends (no signal of its own: it costs).
      this.signal.addEventListener('abort', this.onAbort, { once: true });
      const first = this.slots[0];
      if (!first)
        return this.fail(
          new SipLocateError('ENONAMESERVER', `No nameserver to ask for ${this.q}.`, {
            name: this.qname,
            type: this.type,
          }),
        );
      this.sendTo(first, false);
      this.armEarly(first);
    });
  }

  /**
   * Arms the early hedge: when the first copy is still unanswered at about the 95th percentile of the server's
   * round trip (before its timeout), one more copy goes out (to a second healthy server, or on the same socket),
   * while the first copy's own timeout keeps running. One loss then costs a little over one round trip, and the
   * copy sent when that timeout runs out makes a second loss cheap too: at most two copies are awaited at once.
   */
  private armEarly(first: Slot): void {
    if (!this.hedge) return;
    const at = this.owner.timerOf(first.ns).hedgeAt();
    if (at === undefined) return;
    this.early = setTimeout(() => setImmediate(() => this.onEarly(first)), at);
  }

  /** The early hedge point passed: one more copy if nothing else was sent and the question budget allows it. */
  private onEarly(first: Slot): void {
    this.early = undefined;
    if (this.done || this.last !== first || this.slots.some((s) => s.copies !== (s === first ? 1 : 0))) return;
    const target = this.pick('late');
    if (!target || (target === first && this.mayHedge && !this.mayHedge())) return;
    this.sendTo(target, false, false);
  }

  /** The next server to get a copy: after a timeout ('late') or after an error or refusal ('error'). */
  private pick(reason: 'late' | 'error'): Slot | undefined {
    return pickSlot(this.slots, reason, {
      hedge: this.hedge,
      mayHedge: this.mayHedge,
      last: this.last,
      mayCopy: (s) => this.mayCopy(s),
    });
  }

  /** Whether a server may get one more copy: within `tries`, or up to MAX_COPIES while it fits in the classic schedule's time. */
  private mayCopy(s: Slot): boolean {
    if (s.copies < this.tries) return true;
    if (s.copies >= MAX_COPIES || this.budget === 0 || s.answered) return false;
    return performance.now() - s.firstSent + this.owner.timerOf(s.ns).timeout(s.lane?.copies ?? 0) <= this.budget;
  }

  /**
   * Sends one copy to a slot, opening its socket if needed; `fallback` copies (EDNS, 0x20) do not count against
   * tries. `timed` false (the early hedge) leaves the running timeout as it is.
   */
  private sendTo(slot: Slot, fallback: boolean, timed = true): void {
    if (!slot.lane?.open) {
      makeRoom(this.slots, slot);
      const with0x20 = this.cfg.use0x20 && this.owner.caseAllowed(slot.ns.label);
      slot.lane = new UdpLane(
        slot.ns,
        {
          id: randomInt(65536),
          wireName: with0x20 ? randomiseCase(this.qname) : this.qname,
          type: this.type,
          edns: true,
        },
        this.cfg.counters,
        (lane, o) => this.onLane(slot, lane, o),
      );
    }
    if (!fallback) slot.copies++;
    if (slot.copies === 1 && !fallback) slot.firstSent = performance.now();
    this.cfg.counters.udpAttempts++;
    slot.lastSent = performance.now();
    slot.lane.send();
    if (!timed) {
      this.earlyLane = slot.lane;
      return;
    }
    this.last = slot;
    // The early copy does not back the timeout off: it was sent before any timeout ran out.
    const early = this.earlyLane === slot.lane ? 1 : 0;
    this.arm(this.owner.timerOf(slot.ns).timeout(slot.lane.copies - 1 - early));
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    // The expiry is handled after the event loop's poll phase (setImmediate): an answer that arrived while the
    // process was busy is read first, rather than taken for a loss.
    const armed = ++this.armed;
    this.timer = setTimeout(
      () =>
        setImmediate(() => {
          if (armed === this.armed) this.onTimer(ms);
        }),
      ms,
    );
  }

  /** The last copy's timeout passed: the 0x20 fallback, a hedge or retransmission, or the end. */
  private onTimer(ms: number): void {
    if (this.done) return;
    this.timer = undefined;
    const last = this.last!;
    const lane = last.lane;
    if (lane?.open && lane.caseMismatches > 0 && lane.q.wireName !== this.qname) {
      // The server answered, but without our case: 0x20 off for it, and the question again in plain case.
      this.owner.caseFailed(last.ns.label);
      lane.reask({ ...lane.q, wireName: this.qname });
      return this.sendTo(last, true);
    }
    this.cfg.counters.timeouts++;
    last.late = true;
    // Built only if the question fails: most timeouts are followed by an answer.
    this.lastError = () =>
      new SipLocateError('ETIMEOUT', `No answer from ${last.ns.label} for ${this.q} within ${ms} ms.`, {
        name: this.qname,
        type: this.type,
        nameserver: last.ns.label,
      });
    this.next('late');
  }

  /** Sends the next copy, or waits for a TCP exchange still running, or gives up. */
  private next(reason: 'late' | 'error'): void {
    const target = this.pick(reason);
    if (target) return this.sendTo(target, false);
    if (this.slots.some((s) => s.tcp)) return;
    // No copy left to send: the sockets stay open for a late answer until the classic schedule would have given
    // up, so an adapted timer never makes a question fail sooner than timeoutMs, doubled per try, allows.
    const wait = this.started + this.owner.budgetMs(this.tries) - performance.now();
    if (wait >= 1 && this.slots.some((s) => s.lane?.open === true)) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (!this.done) this.next('late');
      }, wait);
      return;
    }
    const last = this.lastError;
    this.fail(
      typeof last === 'function'
        ? last()
        : (last ?? new SipLocateError('ETIMEOUT', `No answer for ${this.q}.`, { name: this.qname, type: this.type })),
    );
  }

  private onLane(slot: Slot, lane: UdpLane, o: LaneOutcome): void {
    if (this.done || slot.lane !== lane) return;
    if (o.kind === 'reply' && o.reply.rcode === 'FORMERR' && !o.reply.hasOpt && lane.q.edns) {
      lane.reask({ ...lane.q, edns: false });
      return this.sendTo(slot, true);
    }
    if (o.kind === 'truncated' || o.kind === 'spoof') {
      if (o.kind === 'truncated') this.cfg.counters.truncated++;
      lane.close();
      slot.lane = undefined;
      return this.overTcp(slot, lane.q.edns);
    }
    if (o.kind === 'reply') this.sampleRoundTrip(slot, lane);
    lane.close();
    slot.lane = undefined;
    this.outcome(slot, o);
  }

  /**
   * Karn's rule: only a question sent once gives a round trip that belongs to it. An answer sooner after the early
   * copy than half a round trip can only answer the first copy (early copies go out on paths of 10 ms and more,
   * before any timeout), so it counts as well: else the round trips slower than the early copy's time would never
   * be sampled, and that time would sink.
   */
  private sampleRoundTrip(slot: Slot, lane: UdpLane): void {
    const timer = this.owner.timerOf(slot.ns);
    const now = performance.now();
    if (lane.copies === 1 && slot.copies === 1) return timer.sample(now - lane.sentAt);
    const srtt = timer.smoothedMs();
    if (this.earlyLane === lane && lane.copies === 2 && srtt !== undefined && now - lane.sentAt < srtt / 2)
      timer.sample(now - slot.firstSent);
  }

  /** Asks one server over TCP (after TC or a wrong ID); its outcome counts as that server's. */
  private overTcp(slot: Slot, edns: boolean): void {
    this.cfg.counters.tcpAttempts++;
    slot.tcp = true;
    const req = {
      ns: slot.ns,
      id: randomInt(65536),
      wireName: this.qname,
      type: this.type,
      edns,
      timeoutMs: this.cfg.timeoutMs,
      signal: (this.tcpAbort ??= new AbortController()).signal,
    };
    void tcpExchange(req, this.cfg.counters).then((o) => {
      slot.tcp = false;
      if (this.done || o.kind === 'aborted') return;
      if (o.kind === 'timeout') {
        this.cfg.counters.timeouts++;
        slot.late = true;
        slot.exhausted = true;
        this.lastError = new SipLocateError(
          'ETIMEOUT',
          `No answer from ${slot.ns.label} for ${this.q} over TCP within ${req.timeoutMs} ms.`,
          { name: this.qname, type: this.type, nameserver: slot.ns.label },
        );
        return this.next('error');
      }
      this.outcome(slot, o);
    });
  }

  /** A final outcome from one server: the answer, or an error that moves the question on at once. */
  private outcome(slot: Slot, o: ExchangeOutcome): void {
    const result = interpretOutcome(o, slot.ns, this.qname, this.type);
    if (!(result instanceof SipLocateError)) {
      this.cfg.health.succeeded(slot.ns);
      return this.succeed(result, slot);
    }
    if (HEALTH_FAILURES.has(result.code)) this.cfg.health.failed(slot.ns, result.code);
    if (result.code === 'ECONNREFUSED') slot.refused = true;
    slot.late = false;
    slot.answered = true;
    this.lastError = result;
    clearTimeout(this.timer);
    clearTimeout(this.early);
    this.timer = undefined;
    this.armed++;
    this.next('error');
  }

  private succeed(reply: Reply, winner: Slot): void {
    this.finish();
    // A server that let its timer run out while another answered is failing: the next questions go elsewhere first.
    for (const s of this.slots) if (s !== winner && s.late) this.cfg.health.failed(s.ns, 'ETIMEOUT');
    this.resolve({ reply, ns: winner.ns });
  }

  private fail(err: SipLocateError): void {
    this.finish();
    for (const s of this.slots) if (s.late) this.cfg.health.failed(s.ns, 'ETIMEOUT');
    this.reject(err);
  }

  private aborted(): void {
    if (this.done) return;
    this.finish();
    const d = { name: this.qname, type: this.type };
    if (this.cfg.closed.aborted)
      this.reject(new SipLocateError('ECLOSED', `The DNS client was closed while asking for ${this.q}.`, d));
    else
      this.reject(
        new SipLocateError('ECANCELLED', `Nobody waits for ${this.q} any more: the question was dropped.`, d),
      );
  }

  /** Ends the question: timer, sockets and the listener on the caller's signal released. */
  private finish(): void {
    this.done = true;
    clearTimeout(this.timer);
    clearTimeout(this.early);
    this.timer = undefined;
    for (const s of this.slots) {
      s.lane?.close();
      s.lane = undefined;
    }
    this.signal.removeEventListener('abort', this.onAbort);
    // A plain reason: abort() without one builds a DOMException (with its stack).
    this.tcpAbort?.abort(FINISHED);
  }
}
