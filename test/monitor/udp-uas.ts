// A UDP SIP server for monitor tests that can be stopped and started again on the same port (the sip-responder
// binds a new port each time): it answers every OPTIONS with 200 and counts what it received.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

/** A restartable UDP UAS on 127.0.0.1. */
export interface UdpUas {
  port: number;
  /** Requests received since it was created. */
  received: number;
  /** Copies of each request (by Call-ID) left unanswered before one is answered, as if lost on the way (default 0). */
  dropFirst: number;
  /** Requests left unanswered on purpose. */
  dropped: number;
  /** Chance that a request, and on its own that an answer, is lost (default 0; drawn from `random`). */
  loss: number;
  /** Random source for `loss` (default Math.random; pass a seeded one to repeat a run). */
  random: () => number;
  /** Delay before each answer leaves, ms (default 0). */
  delayMs: number;
  running(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function answer(request: string): string | undefined {
  const copy = request.split('\r\n').filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
  if (copy.length < 5) return undefined;
  return [
    'SIP/2.0 200 OK',
    ...copy.map((l) => (/^to:/i.test(l) && !/;tag=/i.test(l) ? `${l};tag=uas` : l)),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Call-IDs whose copies are counted for dropFirst; the count starts over past it (a test sends far fewer). */
const MAX_TRACKED_CALLS = 10_000;

/** Starts a UAS on a port chosen by the system (or the given one). */
export async function startUdpUas(port = 0): Promise<UdpUas> {
  let socket: Socket | undefined;
  const copies = new Map<string, number>();
  /** Answers held back by delayMs (cleared on stop). */
  const timers = new Set<NodeJS.Timeout>();
  const uas: UdpUas = {
    port,
    received: 0,
    dropFirst: 0,
    dropped: 0,
    loss: 0,
    random: Math.random,
    delayMs: 0,
    running: () => socket !== undefined,
    async start() {
      const s = createSocket('udp4');
      s.on('message', (buf, rinfo) => {
        uas.received++;
        const text = buf.toString('latin1');
        if (uas.dropFirst > 0) {
          const callId = /^call-id:\s*(.*)$/im.exec(text)?.[1] ?? '';
          const n = copies.get(callId) ?? 0;
          if (copies.size >= MAX_TRACKED_CALLS) copies.clear();
          copies.set(callId, n + 1);
          if (n < uas.dropFirst) {
            uas.dropped++;
            return;
          }
        }
        if (uas.loss > 0 && uas.random() < uas.loss) {
          uas.dropped++;
          return;
        }
        const a = answer(text);
        if (!a) return;
        if (uas.loss > 0 && uas.random() < uas.loss) {
          uas.dropped++;
          return;
        }
        if (uas.delayMs <= 0) s.send(a, rinfo.port, rinfo.address);
        else {
          const t = setTimeout(() => {
            timers.delete(t);
            if (socket === s) s.send(a, rinfo.port, rinfo.address);
          }, uas.delayMs);
          timers.add(t);
        }
      });
      s.bind(uas.port, '127.0.0.1');
      await once(s, 'listening');
      uas.port = s.address().port;
      socket = s;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const s = socket;
      socket = undefined;
      if (!s) return;
      s.close();
      await once(s, 'close');
    },
  };
  await uas.start();
  return uas;
}
