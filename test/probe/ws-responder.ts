// A SIP-over-WebSocket responder (RFC 7118) on 127.0.0.1 for prober tests: it records the upgrade requests and the
// SIP requests, and answers OPTIONS with 200 or 503, stays silent, or hangs up, as the test asks.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { once } from 'node:events';
import WebSocket from 'ws';
import { answerFor } from './sip-responder';
import type { Pem } from './pki';

/** How the responder treats requests. */
export type WsMode = 'answer' | 'busy' | 'silent' | 'hangup' | 'no-subprotocol';

/** A running responder. */
export interface WsResponder {
  port: number;
  mode: WsMode;
  /** Upgrade requests: Host, the offered subprotocols, and the SNI name over TLS. */
  upgrades: Array<{ host?: string; protocols?: string; servername?: string }>;
  /** SIP requests received, one per WebSocket message, and whether each came as a text message. */
  requests: Array<{ text: string; binary: boolean }>;
  /** Close codes of closed connections, in order. */
  closes: number[];
  open(): number;
  /** Resolves once `n` connections have closed in total, down to their TCP sockets. */
  closed(n: number): Promise<void>;
  /** Resolves once `n` requests have been received in total. */
  received(n: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a ws (or, with a certificate, wss) responder on 127.0.0.1 with a port chosen by the system. */
export async function startWsResponder(mode: WsMode, tls?: Pem): Promise<WsResponder> {
  const server: HttpServer = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }) : createHttpServer();
  const wss = new WebSocket.Server({
    server,
    handleProtocols: (protocols: Iterable<string>) =>
      mode !== 'no-subprotocol' && [...protocols].includes('sip') ? 'sip' : false,
  });
  const upgrades: WsResponder['upgrades'] = [];
  const requests: WsResponder['requests'] = [];
  const closes: number[] = [];
  let socketsClosed = 0;
  const waiters: Array<{ ready: () => boolean; resolve: () => void }> = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      if (w.ready()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const until = (ready: () => boolean): Promise<void> =>
    ready() ? Promise.resolve() : new Promise((resolve) => waiters.push({ ready, resolve }));
  const sockets = new Set<WebSocket>();
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    sockets.add(ws);
    const servername = (req.socket as { servername?: string | false }).servername;
    upgrades.push({
      host: req.headers.host,
      protocols: req.headers['sec-websocket-protocol'],
      servername: typeof servername === 'string' ? servername : undefined,
    });
    // ws 8 hands every message over as a Buffer and tells text from binary in isBinary.
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const binary = isBinary;
      const text = data.toString('utf8');
      requests.push({ text, binary });
      check();
      if (mode === 'hangup') return ws.terminate();
      const answer =
        mode === 'answer'
          ? answerFor(text)
          : mode === 'busy'
            ? answerFor(text, 'SIP/2.0 503 Service Unavailable', ['Retry-After: 30'])
            : undefined;
      if (answer) ws.send(answer);
    });
    ws.on('error', () => undefined);
    ws.on('close', (code: number) => closes.push(code));
    // ws reports a close before its TCP socket is gone; the socket's own close event is when nothing is left.
    req.socket.on('close', () => {
      sockets.delete(ws);
      socketsClosed++;
      check();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    mode,
    upgrades,
    requests,
    closes,
    open: () => sockets.size,
    closed: (n) => until(() => socketsClosed >= n),
    received: (n) => until(() => requests.length >= n),
    async stop() {
      for (const s of sockets) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
