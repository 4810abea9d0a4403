import { createSocket } from 'node:dgram';
import { decodeReply, encodeQuery, peekId } from './codec';
import { matchReply, settleOnce, type ExchangeCounters, type ExchangeOutcome, type ExchangeRequest } from './exchange';

/**
 * One UDP exchange on a new connected socket (random source port; the kernel drops packets from other peers).
 * Mismatching replies are dropped and the exchange keeps waiting; a wrong ID from the peer ends it as 'spoof'.
 */
export function udpExchange(req: ExchangeRequest, counters: ExchangeCounters): Promise<ExchangeOutcome> {
  return new Promise((resolve) => {
    const socket = createSocket(req.ns.family === 6 ? 'udp6' : 'udp4');
    let caseMismatches = 0;
    const release = (): void => {
      try {
        socket.close();
      } catch {
        // already closed
      }
    };
    // A timeout reports how many replies differed only in case, so the client can turn 0x20 off.
    const { finish, settled } = settleOnce(req, release, resolve, () => ({ kind: 'timeout', caseMismatches }));
    if (settled()) return;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      finish(err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'neterror', message: err.message });
    });
    socket.on('message', (buf: Buffer) => {
      if (settled()) return;
      if (peekId(buf) !== req.id) {
        counters.spoofSuspected++;
        return finish({ kind: 'spoof' });
      }
      const reply = decodeReply(buf);
      if (typeof reply === 'string') {
        counters.malformed++;
        return finish({ kind: 'malformed', reason: reply });
      }
      const match = matchReply(reply, req, true);
      if (match !== 'ok') {
        counters.mismatched++;
        if (match === 'case') caseMismatches++;
        return;
      }
      finish(reply.truncated ? { kind: 'truncated' } : { kind: 'reply', reply, bytes: buf.length });
    });
    socket.connect(req.ns.port, req.ns.host, () => {
      if (settled()) return;
      const query = encodeQuery(req.id, req.wireName, req.type, req.edns);
      socket.send(query, (err) => {
        if (err) finish({ kind: 'neterror', message: err.message });
      });
    });
  });
}
