import { connect } from 'node:net';
import { decodeReply, encodeQuery } from './codec';
import {
  matchReply,
  underDeadline,
  type ExchangeCounters,
  type ExchangeOutcome,
  type ExchangeRequest,
} from './exchange';

/** Largest DNS message over TCP (the 2-byte length prefix allows no more). */
const MAX_TCP_MESSAGE = 65535;

/** One TCP exchange: connect, send the length-prefixed query, read one length-prefixed reply, close. */
export function tcpExchange(req: ExchangeRequest, counters: ExchangeCounters): Promise<ExchangeOutcome> {
  return underDeadline(
    req,
    (signal) =>
      new Promise((resolve) => {
        const socket = connect({ host: req.ns.host, port: req.ns.port });
        let buffered = Buffer.alloc(0);
        let done = false;
        const finish = (outcome: ExchangeOutcome): void => {
          if (done) return;
          done = true;
          signal.removeEventListener('abort', onAbort);
          socket.destroy();
          resolve(outcome);
        };
        const onAbort = (): void => finish({ kind: 'aborted' });
        signal.addEventListener('abort', onAbort, { once: true });
        socket.on('error', (err: NodeJS.ErrnoException) => {
          finish(err.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'neterror', message: err.message });
        });
        socket.on('close', () =>
          finish({ kind: 'neterror', message: 'the TCP connection closed before a whole answer arrived' }),
        );
        socket.on('connect', () => {
          const query = encodeQuery(req.id, req.wireName, req.type, req.edns);
          const frame = Buffer.allocUnsafe(2 + query.length);
          frame.writeUInt16BE(query.length, 0);
          query.copy(frame, 2);
          socket.write(frame);
        });
        socket.on('data', (chunk: Buffer) => {
          buffered = Buffer.concat([buffered, chunk]);
          if (buffered.length > 2 + MAX_TCP_MESSAGE) {
            counters.malformed++;
            return finish({ kind: 'malformed', reason: 'TCP answer longer than its length prefix' });
          }
          if (buffered.length < 2) return;
          const length = buffered.readUInt16BE(0);
          if (buffered.length < 2 + length) return;
          const message = buffered.subarray(2, 2 + length);
          const reply = decodeReply(message);
          if (typeof reply === 'string') {
            counters.malformed++;
            return finish({ kind: 'malformed', reason: reply });
          }
          if (matchReply(reply, req, false) !== 'ok') {
            counters.mismatched++;
            counters.malformed++;
            return finish({ kind: 'malformed', reason: 'TCP answer for another question or ID' });
          }
          finish({ kind: 'reply', reply, bytes: length });
        });
      }),
  );
}
