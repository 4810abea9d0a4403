/**
 * The copy schedule of one question: each nameserver's state as that question sees it (copies sent, its socket,
 * lateness), which server gets the next copy, and the bound on sockets open at once. Question (question.ts) drives it.
 */
import type { Nameserver } from './nameservers';
import type { UdpLane } from './udp';

/** Most nameservers one question has a socket open to at once (the question and one hedged copy). */
export const MAX_LANES = 2;
/**
 * Most UDP copies of one question to one nameserver. Past `tries`, further copies go out only while they fit in
 * the time the classic schedule (timeoutMs doubling `tries` times) would have waited: with an adapted timer of a few
 * round trips, three copies are over in a fraction of that, and at 10 % loss each way (19 % per exchange) three lost
 * copies happen to 0.7 % of questions; eight leave 2e-6.
 */
export const MAX_COPIES = 8;

/** One nameserver as seen by one question. */
export interface Slot {
  ns: Nameserver;
  /** Listed among the healthy servers. */
  healthy: boolean;
  /** UDP copies sent to it (the budget is `tries`; EDNS and 0x20 fallbacks are not counted). */
  copies: number;
  /** The open UDP socket, if any. */
  lane: UdpLane | undefined;
  /** A TCP exchange is running. */
  tcp: boolean;
  /** Refused the connection: not asked again by this question. */
  refused: boolean;
  /** A timer ran out while waiting for it. */
  late: boolean;
  /** performance.now() of its first and last copy. */
  firstSent: number;
  lastSent: number;
  /** No more copies (TCP timed out). */
  exhausted: boolean;
  /** Sent an error (SERVFAIL, malformed...): no copies beyond `tries`, it is not loss. */
  answered: boolean;
}

/** The slots of one question, one per server in order; the first `healthy` are listed healthy. */
export function newSlots(servers: Nameserver[], healthy: number): Slot[] {
  return servers.map((ns, i) => ({
    ns,
    healthy: i < healthy,
    copies: 0,
    lane: undefined,
    tcp: false,
    refused: false,
    late: false,
    firstSent: 0,
    lastSent: 0,
    exhausted: false,
    answered: false,
  }));
}

/** What the choice of the next server needs from its question. */
export interface PickContext {
  /** Hedge to a second healthy server when the first is late. */
  hedge: boolean;
  /** Whether a hedged copy may go out now (absent: always). */
  mayHedge?: (() => boolean) | undefined;
  /** The slot that got the last copy. */
  last: Slot | undefined;
  /** Whether a server may get one more copy. */
  mayCopy(s: Slot): boolean;
}

/** The next server to get a copy: after a timeout ('late') or after an error or refusal ('error'). */
export function pickSlot(slots: Slot[], reason: 'late' | 'error', ctx: PickContext): Slot | undefined {
  const usable = (s: Slot): boolean => !s.refused && !s.tcp && !s.exhausted && ctx.mayCopy(s);
  const fresh = (healthyOnly: boolean): Slot | undefined =>
    slots.find((s) => usable(s) && s.copies === 0 && (!healthyOnly || s.healthy));
  if (reason === 'late' && ctx.hedge) {
    // Hedge to a healthy server not asked yet (the oldest open socket makes room), then alternate between the open ones.
    const second = fresh(true);
    if (second && (!ctx.mayHedge || ctx.mayHedge())) return second;
    const open = slots.filter((s) => usable(s) && s.lane?.open === true).sort((a, b) => a.lastSent - b.lastSent);
    if (open[0]) return open[0];
  } else if (reason === 'late' && ctx.last && usable(ctx.last) && ctx.last.lane?.open === true) {
    return ctx.last;
  }
  // Servers not asked yet (healthy first, failing ones last), then any with copies left.
  return fresh(true) ?? fresh(false) ?? slots.find(usable);
}

/** Closes the socket sent to longest ago when `slot` opening one would exceed MAX_LANES. */
export function makeRoom(slots: Slot[], slot: Slot): void {
  const open = slots.filter((s) => s.lane?.open === true && s !== slot);
  if (open.length < MAX_LANES) return;
  const oldest = open.sort((a, b) => a.lastSent - b.lastSent)[0]!;
  oldest.lane!.close();
  oldest.lane = undefined;
}
