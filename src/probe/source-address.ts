/** The local address the system sends from to reach a destination, learned once per destination and kept. */
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

/** Most destinations whose source address is kept; the oldest is forgotten first. */
export const MAX_SOURCE_ADDRESSES = 1024;

/** Remembers, per destination address, the source address the routing table picks for it. */
export class SourceAddresses {
  private readonly learnt = new Map<string, Promise<string>>();
  /** The answers learnt already, for callers that need no promise. */
  private readonly answers = new Map<string, string>();

  constructor(private readonly max = MAX_SOURCE_ADDRESSES) {}

  /** The source address for `destination` (an IP address): from memory, or from connecting a UDP socket (no packet is sent). */
  of(destination: string): Promise<string> {
    const known = this.learnt.get(destination);
    if (known) return known;
    const learning = learn(destination);
    if (this.learnt.size >= this.max) {
      const oldest = this.learnt.keys().next().value ?? '';
      this.learnt.delete(oldest);
      this.answers.delete(oldest);
    }
    this.learnt.set(destination, learning);
    learning.then(
      (address) => {
        if (this.learnt.get(destination) === learning) this.answers.set(destination, address);
      },
      () => {
        // A failure is not kept: the next probe asks again (a route may appear).
        if (this.learnt.get(destination) === learning) this.learnt.delete(destination);
      },
    );
    return learning;
  }

  /** The source address for `destination` if learnt already. */
  known(destination: string): string | undefined {
    return this.answers.get(destination);
  }

  /** Destinations remembered now. */
  get size(): number {
    return this.learnt.size;
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
