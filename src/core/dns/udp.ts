import { createSocket, type Socket } from 'node:dgram';
import { decodeReply, encodeQuery, peekId } from './codec';
import { matchReply, type ExchangeCounters, type ExchangeOutcome } from './exchange';
import type { Nameserver } from './nameservers';
import type { RecordType } from './types';

/** What one UDP lane asks: the ID and the question as sent (0x20 case applied), and EDNS. */
export interface LaneQuestion {
  id: number;
  wireName: string;
  type: RecordType;
  edns: boolean;
}

/** The outcomes a lane reports; a timeout is its owner's business. */
export type LaneOutcome = Exclude<ExchangeOutcome, { kind: 'timeout' } | { kind: 'aborted' }>;

/**
 * One question to one nameserver over UDP on one connected socket (random source port; the kernel drops packets
 * from other peers). Every copy goes out on the same socket with the same ID and case, so an answer to any copy
 * is taken. Mismatching replies are dropped and counted; a wrong ID from the peer is reported as 'spoof'.
 */
export class UdpLane {
  /** Copies sent on this lane. */
  copies = 0;
  /** When the last copy left, performance.now() ms. */
  sentAt = 0;
  /** Replies that differed from the question only in case (0x20 stripped by the server). */
  caseMismatches = 0;
  private socket: Socket | undefined;
  private ready = false;
  private pending = false;
  private query: Buffer;

  /** ns: where to; q: what; counters: shared stats; onOutcome: called at most once, unless the lane is re-asked. */
  constructor(
    readonly ns: Nameserver,
    public q: LaneQuestion,
    private readonly counters: ExchangeCounters,
    private readonly onOutcome: (lane: UdpLane, outcome: LaneOutcome) => void,
  ) {
    this.query = encodeQuery(q.id, q.wireName, q.type, q.edns);
    const socket = createSocket(ns.family === 6 ? 'udp6' : 'udp4');
    this.socket = socket;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.report(err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'neterror', message: err.message });
    });
    socket.on('message', (buf: Buffer) => this.receive(buf));
    socket.connect(ns.port, ns.host, () => {
      this.ready = true;
      if (this.pending) this.transmit();
    });
  }

  /** Whether the socket is still open. */
  get open(): boolean {
    return this.socket !== undefined;
  }

  /** Changes the question (0x20 off, EDNS off): later copies, and only answers to them, use the new one. */
  reask(q: LaneQuestion): void {
    this.q = q;
    this.query = encodeQuery(q.id, q.wireName, q.type, q.edns);
    this.caseMismatches = 0;
  }

  /** Sends one more copy. */
  send(): void {
    this.copies++;
    this.sentAt = performance.now();
    if (this.ready) this.transmit();
    else this.pending = true;
  }

  /** Closes the socket; nothing is reported after this. */
  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    try {
      socket?.close();
    } catch {
      // already closed
    }
  }

  private transmit(): void {
    this.pending = false;
    this.socket?.send(this.query, (err) => {
      if (err) this.report({ kind: 'neterror', message: err.message });
    });
  }

  private report(outcome: LaneOutcome): void {
    if (this.socket) this.onOutcome(this, outcome);
  }

  private receive(buf: Buffer): void {
    if (!this.socket) return;
    if (peekId(buf) !== this.q.id) {
      this.counters.spoofSuspected++;
      return this.report({ kind: 'spoof' });
    }
    const reply = decodeReply(buf);
    if (typeof reply === 'string') {
      this.counters.malformed++;
      return this.report({ kind: 'malformed', reason: reply });
    }
    const match = matchReply(reply, { id: this.q.id, wireName: this.q.wireName, type: this.q.type }, true);
    if (match !== 'ok') {
      this.counters.mismatched++;
      if (match === 'case') this.caseMismatches++;
      return;
    }
    this.report(reply.truncated ? { kind: 'truncated' } : { kind: 'reply', reply, bytes: buf.length });
  }
}
