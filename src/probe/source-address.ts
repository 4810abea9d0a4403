/** The local address the system sends from to reach a destination, learned once per destination and kept. */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

/** Most destinations whose source address is kept; the oldest is forgotten first. */
export const MAX_SOURCE_ADDRESSES = 1024;

/** Remembers, per destination address, the source address the routing table picks for it. */
export class SourceAddresses {
  private readonly known = new Map<string, Promise<string>>();

  constructor(private readonly max = MAX_SOURCE_ADDRESSES) {}

  /** The source address for `destination` (an IP address): from memory, or from connecting a UDP socket (no packet is sent). */
  of(destination: string): Promise<string> {
    const known = this.known.get(destination);
    if (known) return known;
    const learning = learn(destination);
    if (this.known.size >= this.max) this.known.delete(this.known.keys().next().value ?? '');
    this.known.set(destination, learning);
    // A failure is not kept: the next probe asks again (a route may appear).
    learning.catch(() => {
      if (this.known.get(destination) === learning) this.known.delete(destination);
    });
    return learning;
  }

  /** Destinations remembered now. */
  get size(): number {
    return this.known.size;
  }
}

/** Connects a UDP socket to the destination (which only consults the routing table) and reads the address it bound. */
function learn(destination: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(destination) === 6 ? 'udp6' : 'udp4');
    const done = (err: Error | undefined, address?: string): void => {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      try {
        socket.close();
      } catch {
        // closed already
      }
      if (err || address === undefined) reject(err ?? new Error('no source address'));
      else resolve(address);
    };
    socket.once('error', (err) => done(err));
    // Port 9 (discard) is only the other end of the association; nothing is sent.
    socket.connect(9, destination, () => done(undefined, socket.address().address));
  });
}
