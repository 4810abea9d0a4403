/**
 * SIP OPTIONS over UDP for many probes at once, as scheduled health probing needs: one bound socket per source
 * address instead of one socket per probe, and one timer for every retransmission and deadline.
 */
import { addressPort } from '../core/target';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once, setMaxListeners } from 'node:events';
import { isIP, SocketAddress } from 'node:net';
import { SipLocateError } from '../core/errors';
import type { Target } from '../core/types';
import {
  checkProbe,
  finalResult,
  retransmitDelays,
  type CheckedProbe,
  type Exchange,
  type ProbeOptions,
  type ProbeResult,
  type ProbeStats,
} from './exchange';
import { parseResponse, renderOptions } from './message';
import { sendOptions } from './prober';
import { SourceAddresses } from './source-address';

/** Most probes in flight on one channel; more are refused with EOVERLOAD. */
export const MAX_PENDING_PROBES = 16_384;
/** Receive buffer asked for the shared sockets (the system may cap it, on Linux at net.core.rmem_max). */
const RECEIVE_BUFFER = 1 << 20;
/** Most peers remembered as having failed their last probe. */
const MAX_SUSPECTS = 4096;

/** A shared socket and the port it is bound to. */
interface Bound {
  socket: Socket;
  port: number;
}

/** The address itself: targets hold IP addresses, so sending needs no name look-up (nor Node's look-up per packet). */
function literal(
  address: string,
  _family: unknown,
  callback: (err: Error | null, address: string, family: number) => void,
): void {
  callback(null, address, address.includes(':') ? 6 : 4);
}

/** One probe in flight; it is also the listener for its abort signal. */
class Pending {
  /** Transmissions so far. */
  sent = 0;
  /** When the next retransmission is due (performance.now() ms), Infinity for none or not sent yet. */
  nextAt = Infinity;
  readonly deadlineAt: number;
  wire?: Buffer;
  /** The source address whose shared socket sent the first transmission. */
  local?: string;
  /**
   * A socket connected to the target that retransmissions go through: the system tells a connected UDP socket of an
   * ICMP "port unreachable", the shared one hears nothing. Made at the first retransmission, or at once for a suspect.
   */
  connected?: Socket;
  /** Settles the probe's promise. */
  private readonly done: (r: ProbeResult | SipLocateError) => void;

  constructor(
    private readonly channel: UdpProbeChannel,
    readonly ex: Exchange,
    /** "address|port" the answer must come from (the address in canonical form). */
    readonly peer: string,
    readonly delays: number[],
    readonly signal: AbortSignal | undefined,
    resolve: (r: ProbeResult) => void,
    reject: (err: SipLocateError) => void,
  ) {
    this.deadlineAt = performance.now() + ex.timeoutMs;
    this.done = (r) => (r instanceof SipLocateError ? reject(r) : resolve(r));
    signal?.addEventListener('abort', this, { once: true });
  }

  /** The abort signal fired. */
  handleEvent(): void {
    this.settle(this.ex.cancelled());
  }

  /** Ends the probe with a result or an error (once; later calls do nothing). */
  settle(r: ProbeResult | SipLocateError): void {
    if (!this.channel.release(this, r)) return;
    this.signal?.removeEventListener('abort', this);
    closeQuietly(this.connected);
    this.done(r);
  }

  /** Ends the probe with the failure of a send. */
  readonly afterSend = (err: Error | null): void => {
    if (err) this.settle(this.ex.transportError(err));
  };
}

/** A UDP target and probe options checked once, with what its probes share: the peer answers must come from, the retransmission delays. */
export class UdpProbePlan {
  /** "address|port" the answer must come from (the address in canonical form). */
  readonly peer: string;
  readonly delays: number[];

  constructor(readonly checked: CheckedProbe) {
    this.peer = peerOf(checked.target.address, checked.target.port);
    this.delays = retransmitDelays(checked.t1Ms, checked.timeoutMs);
  }
}

/** Sends OPTIONS like sendOptions(), sharing sockets and a timer between the UDP probes in flight; other transports go to sendOptions(). */
export class UdpProbeChannel {
  /** Packets that answered no probe in flight (stray) or were not SIP responses (malformed). */
  readonly stats: ProbeStats = { stray: 0, malformed: 0 };
  private readonly pending = new Map<string, Pending>();
  private readonly sockets = new Map<string, Promise<Bound>>();
  /** The shared sockets bound already, by source address. */
  private readonly ready = new Map<string, Bound>();
  private readonly sources = new SourceAddresses();
  /** Peers whose last probe failed: their next probe goes through a connected socket from the first transmission. */
  private readonly suspects = new Set<string>();
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private closed = false;

  constructor(private readonly maxPending = MAX_PENDING_PROBES) {}

  /** Probes in flight. */
  get size(): number {
    return this.pending.size;
  }

  /** Sends OPTIONS to the target and resolves with the final response or the failure; rejects as sendOptions() does, and with EOVERLOAD when full. */
  probe(target: Target, options: ProbeOptions = {}): Promise<ProbeResult> {
    if (target.transport !== 'udp') return sendOptions(target, options);
    const plan = this.plan(target, options);
    if (plan instanceof SipLocateError) return Promise.reject(plan);
    if (options.signal) setMaxListeners(0, options.signal); // one listener per probe in flight, each removed when its probe ends
    return this.run(plan, options.signal);
  }

  /** Checks a UDP target and the options once, for probing it again and again with run(); EINVALIDMSG or EINVALIDOPTION when they cannot go into a request. */
  plan(target: Target, options: ProbeOptions = {}): UdpProbePlan | SipLocateError {
    if (target.transport !== 'udp')
      return new SipLocateError(
        'EINVALIDOPTION',
        `The UDP probe channel sends over udp only, not ${target.transport}.`,
        { option: 'transport' },
      );
    const checked = checkProbe(target, options);
    return checked instanceof SipLocateError ? checked : new UdpProbePlan(checked);
  }

  /** Sends one OPTIONS by a plan (fresh IDs each time); resolves and rejects as probe() does. */
  run(plan: UdpProbePlan, signal?: AbortSignal): Promise<ProbeResult> {
    const ex = plan.checked.exchange();
    if (this.closed || signal?.aborted) return Promise.reject(ex.cancelled());
    if (this.pending.size >= this.maxPending) {
      return Promise.reject(
        new SipLocateError(
          'EOVERLOAD',
          `${this.maxPending} UDP probes are in flight already; the probe to ${addressPort(ex.target)} was not sent.`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const entry = new Pending(this, ex, plan.peer, plan.delays, signal, resolve, reject);
      this.pending.set(ex.common.branch, entry);
      this.arm(entry.deadlineAt);
      this.start(entry);
    });
  }

  /** Takes a probe that ends off the books; false when it had ended already. */
  release(entry: Pending, r: ProbeResult | SipLocateError): boolean {
    const branch = entry.ex.common.branch;
    if (this.pending.get(branch) !== entry) return false;
    this.pending.delete(branch);
    if (this.pending.size === 0) this.disarm();
    if (!(r instanceof SipLocateError)) {
      if (r.kind === 'response') this.suspects.delete(entry.peer);
      else this.suspect(entry.peer);
    }
    return true;
  }

  /** Cancels every probe in flight (ECANCELLED) and closes the sockets, resolving once they are closed; the channel refuses probes afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const entry of [...this.pending.values()]) entry.settle(entry.ex.cancelled());
    this.disarm();
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    this.ready.clear();
    await Promise.allSettled(
      sockets.map(async (bound) => {
        const { socket } = await bound;
        const closed = once(socket, 'close');
        closeQuietly(socket);
        await closed;
      }),
    );
  }

  /** Learns the source address and the socket (at once when known), then sends the first transmission. */
  private start(entry: Pending): void {
    const local = this.sources.known(entry.ex.target.address);
    const bound = local === undefined ? undefined : this.ready.get(local);
    if (local !== undefined && bound) {
      this.first(entry, local, bound);
      return;
    }
    this.sources
      .of(entry.ex.target.address)
      .then((address) => this.socketFor(address).then((b) => this.first(entry, address, b)))
      .catch((err: unknown) =>
        entry.settle(entry.ex.transportError(err instanceof Error ? err : new Error(String(err)))),
      );
  }

  /** Builds the request with the source address and port, and sends it. */
  private first(entry: Pending, local: string, bound: Bound): void {
    const { ex } = entry;
    if (this.pending.get(ex.common.branch) !== entry) return;
    // The plan checked every field; the IDs are hex, the address and port come from the system.
    entry.wire = Buffer.from(
      renderOptions({
        ...ex.common,
        viaTransport: 'UDP',
        localAddress: local,
        localPort: bound.port,
        toUri: ex.common.requestUri,
      }),
    );
    entry.local = local;
    if (this.suspects.has(entry.peer)) this.transmit(entry);
    else this.sendOn(bound.socket, entry);
  }

  /** The first transmission, through the shared socket of its source address. */
  private sendOn(socket: Socket, entry: Pending): void {
    const wire = entry.wire;
    if (!wire) return;
    try {
      socket.send(wire, entry.ex.target.port, entry.ex.target.address, entry.afterSend);
    } catch (err) {
      // The socket was closed after a failure: this probe fails with it.
      entry.settle(entry.ex.transportError(err instanceof Error ? err : new Error(String(err))));
      return;
    }
    this.sent(entry);
  }

  /** A transmission through the entry's connected socket (made on first use). */
  private transmit(entry: Pending): void {
    const wire = entry.wire;
    if (!wire) return;
    const { target } = entry.ex;
    if (!entry.connected) {
      const socket = createSocket(isIP(target.address) === 6 ? 'udp6' : 'udp4');
      entry.connected = socket;
      socket.on('error', (err) => entry.settle(entry.ex.transportError(err)));
      socket.on('message', (buf, rinfo) => this.receive(buf, rinfo));
      socket.connect(target.port, target.address, () => {
        if (this.pending.get(entry.ex.common.branch) !== entry) return;
        socket.send(wire, entry.afterSend);
      });
    } else {
      entry.connected.send(wire, entry.afterSend);
    }
    this.sent(entry);
  }

  /** Counts a transmission and sets when the next one is due (RFC 3261 timer A: T1 doubling up to T2). */
  private sent(entry: Pending): void {
    const delay = entry.delays[entry.sent];
    entry.sent++;
    entry.nextAt = delay === undefined ? Infinity : performance.now() + delay;
    this.arm(entry.nextAt);
  }

  /** Matches a packet to the probe it answers (by branch, Call-ID, CSeq and the peer it came from). */
  private receive(buf: Buffer, rinfo: RemoteInfo): void {
    const r = parseResponse(buf, false);
    if (r === 'malformed' || r === undefined) {
      this.stats.malformed++;
      return;
    }
    const entry = r.branch === undefined ? undefined : this.pending.get(r.branch);
    if (!entry || !entry.ex.matches(r) || peerOf(rinfo.address, rinfo.port) !== entry.peer) {
      (entry?.ex.stats ?? this.stats).stray++;
      return;
    }
    if (r.status >= 200) entry.settle(finalResult(r));
  }

  /** The shared socket bound to a source address (made on first use). */
  private socketFor(local: string): Promise<Bound> {
    const known = this.sockets.get(local);
    if (known) return known;
    const made = new Promise<Bound>((resolve, reject) => {
      const socket = createSocket({ type: isIP(local) === 6 ? 'udp6' : 'udp4', lookup: literal });
      socket.once('error', reject);
      socket.bind(0, local, () => {
        socket.off('error', reject);
        socket.on('error', (err) => this.socketFailed(local, socket, err));
        socket.on('message', (buf, rinfo) => this.receive(buf, rinfo));
        socket.unref(); // the timer holds the process open while probes are in flight
        try {
          // A slot of the schedule sends its probes at once, and their answers arrive together.
          socket.setRecvBufferSize(RECEIVE_BUFFER);
        } catch {
          // the system keeps its own size
        }
        const bound = { socket, port: socket.address().port };
        if (this.closed) closeQuietly(socket);
        else this.ready.set(local, bound);
        resolve(bound);
      });
    });
    made.catch(() => {
      if (this.sockets.get(local) === made) this.sockets.delete(local);
    });
    this.sockets.set(local, made);
    return made;
  }

  /** A shared socket that failed is dropped (the next probe makes a new one); its probes end with the error. */
  private socketFailed(local: string, socket: Socket, err: Error): void {
    this.sockets.delete(local);
    this.ready.delete(local);
    closeQuietly(socket);
    for (const entry of [...this.pending.values()]) {
      if (!entry.connected && entry.local === local) entry.settle(entry.ex.transportError(err));
    }
  }

  private suspect(peer: string): void {
    if (this.suspects.size >= MAX_SUSPECTS && !this.suspects.has(peer))
      this.suspects.delete(this.suspects.values().next().value ?? '');
    this.suspects.add(peer);
  }

  /** Makes sure the timer fires by `at` (performance.now() ms). */
  private arm(at: number): void {
    if (this.closed || !Number.isFinite(at) || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - performance.now()));
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /** Ends the probes past their deadline, retransmits those due, and arms the timer for the next. */
  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    // Anything due within 2 ms is done now: the timer has millisecond resolution.
    const now = performance.now() + 2;
    let next = Infinity;
    for (const entry of [...this.pending.values()]) {
      if (entry.deadlineAt <= now) {
        entry.settle(entry.ex.timeout());
        continue;
      }
      if (entry.nextAt <= now) this.transmit(entry);
      next = Math.min(next, entry.nextAt, entry.deadlineAt);
    }
    this.arm(next);
  }
}

/** "address|port" with the address in canonical form, so "0:0::1" and "::1" are one peer. */
function peerOf(address: string, port: number): string {
  if (!address.includes(':')) return `${address}|${port}`;
  try {
    return `${new SocketAddress({ address, family: 'ipv6' }).address}|${port}`;
  } catch {
    return `${address}|${port}`;
  }
}

function closeQuietly(socket: Socket | undefined): void {
  if (!socket) return;
  try {
    socket.close();
  } catch {
    // closed already
  }
}
