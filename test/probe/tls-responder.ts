// A SIP-over-TLS responder on 127.0.0.1 for prober tests: answers each OPTIONS with 200 and records the SNI name.
import { createServer, type TLSSocket } from 'node:tls';
import { once } from 'node:events';
import { answerFor, answerStream } from './sip-responder';
import type { Pem } from './pki';

/** A running responder. */
export interface TlsResponder {
  port: number;
  /** The SNI name of each ClientHello that carried one, whether or not the client then accepted the certificate. */
  servernames: string[];
  stop(): Promise<void>;
}

/** Starts a TLS responder serving `pem` on a port chosen by the system. */
export async function startTlsResponder(pem: Pem): Promise<TlsResponder> {
  const servernames: string[] = [];
  const sockets = new Set<TLSSocket>();
  const SNICallback = (name: string, cb: (err: Error | null) => void): void => {
    servernames.push(name);
    cb(null); // the server's own certificate, whatever the name
  };
  const server = createServer({ cert: pem.cert, key: pem.key, SNICallback }, (socket) => {
    sockets.add(socket);
    answerStream(socket, (request) => answerFor(request));
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    servernames,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
