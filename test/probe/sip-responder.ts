// A small SIP responder on loopback for prober tests: it records every request it receives and either answers 200
// (copying Via, From, To, Call-ID and CSeq, as RFC 3261 8.2.6 says) or stays silent, which sipp will not do per request.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { after, before } from 'node:test';

/** A running responder. */
export interface SipResponder {
  address: string;
  udpPort: number;
  tcpPort: number;
  /** Every request received, as text. */
  requests: string[];
  /** TCP connections open now. */
  openConnections(): number;
  /** Resolves once `n` requests have been received in total. */
  received(n: number): Promise<void>;
  /** Resolves once no TCP connection is open. */
  allClosed(): Promise<void>;
  stop(): Promise<void>;
}

/** The response `status line` (+ extra headers) answering a request, or undefined when it lacks the headers to copy. */
export function answerFor(request: string, statusLine = 'SIP/2.0 200 OK', extra: string[] = []): string | undefined {
  const lines = request.split('\r\n');
  const copy = lines.filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
  if (copy.length < 5) return undefined;
  return [
    statusLine,
    ...copy.map((l) => (/^to:/i.test(l) && !/;tag=/i.test(l) ? `${l};tag=r1` : l)),
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Answers each request (a head without body) arriving on a stream socket with what `answer` returns for it. */
export function answerStream(socket: Duplex, answer: (request: string) => string | undefined): void {
  let buffered = '';
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
      const text = answer(buffered.slice(0, end + 4));
      buffered = buffered.slice(end + 4);
      if (text) socket.write(text);
    }
  });
  socket.on('error', () => undefined);
}

function okFor(request: string): string | undefined {
  return answerFor(request);
}

/** Starts a responder on 127.0.0.1 (UDP and TCP, ports chosen by the system). */
export async function startSipResponder(mode: 'answer' | 'silent'): Promise<SipResponder> {
  const requests: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const closeWaiters: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const got = (text: string): string | undefined => {
    requests.push(text);
    for (const w of [...waiters]) {
      if (requests.length >= w.n) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    return mode === 'answer' ? okFor(text) : undefined;
  };
  const udp: UdpSocket = createSocket('udp4');
  udp.on('message', (buf, rinfo) => {
    const answer = got(buf.toString('latin1'));
    if (answer) udp.send(answer, rinfo.port, rinfo.address);
  });
  udp.bind(0, '127.0.0.1');
  await once(udp, 'listening');
  const tcp: Server = createServer((socket) => {
    sockets.add(socket);
    answerStream(socket, got);
    socket.on('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) for (const r of closeWaiters.splice(0)) r();
    });
  });
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  const tcpAddress = tcp.address();
  return {
    address: '127.0.0.1',
    udpPort: udp.address().port,
    tcpPort: typeof tcpAddress === 'object' && tcpAddress ? tcpAddress.port : 0,
    requests,
    openConnections: () => sockets.size,
    received(n) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    allClosed() {
      if (sockets.size === 0) return Promise.resolve();
      return new Promise((resolve) => closeWaiters.push(resolve));
    },
    async stop() {
      for (const s of sockets) s.destroy();
      udp.close();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

/** An answering and a silent responder for the tests of the enclosing describe(), started before and stopped after them. */
export function useResponders(): { answering: SipResponder; silent: SipResponder } {
  const r = {} as { answering: SipResponder; silent: SipResponder };
  before(async () => {
    r.answering = await startSipResponder('answer');
    r.silent = await startSipResponder('silent');
  });
  after(async () => {
    await r.answering?.stop();
    await r.silent?.stop();
  });
  return r;
}

/** Open UDP and TCP handles and timers of this process. */
export function openHandles(): { sockets: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    sockets: info.filter((r) => r === 'UDPWRAP' || r === 'TCPSocketWrap' || r === 'TCPWRAP').length,
    timers: info.filter((r) => r === 'Timeout').length,
  };
}
