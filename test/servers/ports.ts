import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';

/** A loopback port that is free for both TCP and UDP right now. */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, address, () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
      s.once('error', () => resolve(false));
      s.bind(port, address, () => s.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no free loopback port found');
}

/** Whether `port` can be bound on `address` for both TCP and UDP right now. */
async function portFree(port: number, address: string): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, address, () => srv.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((resolve) => {
    const s = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    s.once('error', () => resolve(false));
    s.bind(port, address, () => s.close(() => resolve(true)));
  });
}

/**
 * The first of `count` consecutive loopback ports that are all free right now (sipp binds its media port and the
 * three after it). Drawn below the kernel's ephemeral range, so that no socket bound to port 0 lands on them meanwhile.
 */
export async function freePortBlock(count: number, address = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const base = 20000 + Math.floor(Math.random() * (32000 - 20000 - count));
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await portFree(p, address);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free loopback ports found`);
}
