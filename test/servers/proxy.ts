/**
 * A userspace DNS proxy on loopback (UDP and TCP on one port) in front of a real server: a fixed delay each
 * way, optional stripping of the additional section, and counters of what it forwarded.
 */
import { createSocket, type Socket } from 'node:dgram';
import { connect, createServer, type Socket as TcpSocket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { freePort } from './ports';

/** Options of startProxy(). */
export interface ProxyOptions {
  /** Upstream "127.0.0.1:PORT". */
  upstream: string;
  /** Delay added to each direction, ms (RTT grows by 2 x delayMs). */
  delayMs?: number;
  /** Remove additional records from UDP answers (as `minimal-responses yes` would). */
  stripAdditional?: boolean;
}

/** A running proxy with its counters. */
export interface DnsProxy {
  nameserver: string;
  udpQueries: number;
  tcpConnections: number;
  /** "TYPE name" of each UDP query, in arrival order. */
  questions: string[];
  reset(): void;
  stop(): Promise<void>;
}

/** Starts a proxy on a free loopback port. */
export async function startProxy(o: ProxyOptions): Promise<DnsProxy> {
  const [upHost, upPortText] = o.upstream.split(':') as [string, string];
  const upPort = Number(upPortText);
  const delay = o.delayMs ?? 0;
  const port = await freePort();
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void): void => {
    if (delay <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, delay);
    timers.add(t);
  };
  const upstreams = new Set<Socket>();
  const conns = new Set<TcpSocket>();
  const proxy: DnsProxy = {
    nameserver: `127.0.0.1:${port}`,
    udpQueries: 0,
    tcpConnections: 0,
    questions: [],
    reset() {
      proxy.udpQueries = 0;
      proxy.tcpConnections = 0;
      proxy.questions.length = 0;
    },
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const u of upstreams) u.close();
      upstreams.clear();
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => front.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
  const front = createSocket('udp4');
  front.on('message', (msg, rinfo) => {
    proxy.udpQueries++;
    try {
      const q = dnsPacket.decode(msg).questions?.[0];
      if (q) proxy.questions.push(`${q.type} ${q.name.toLowerCase()}`);
    } catch {
      // counted anyway
    }
    later(() => {
      const up = createSocket('udp4');
      upstreams.add(up);
      const done = (): void => {
        if (!upstreams.delete(up)) return; // already closed by stop()
        up.close();
      };
      const guard = setTimeout(done, 10_000); // the upstream's reply, at least 10 s on a busy machine
      up.on('message', (answer) => {
        clearTimeout(guard);
        done();
        let out: Buffer = answer;
        if (o.stripAdditional) {
          try {
            const p = dnsPacket.decode(answer);
            p.additionals = (p.additionals ?? []).filter((a) => a.type === 'OPT');
            out = Buffer.from(dnsPacket.encode(p));
          } catch {
            // forward as is
          }
        }
        later(() => front.send(out, rinfo.port, rinfo.address));
      });
      up.send(msg, upPort, upHost);
    });
  });
  const tcp = createServer((client) => {
    proxy.tcpConnections++;
    conns.add(client);
    const up = connect(upPort, upHost);
    conns.add(up);
    client.on('data', (d) => later(() => up.write(d)));
    up.on('data', (d) => later(() => client.write(d)));
    const end = (): void => {
      client.destroy();
      up.destroy();
      conns.delete(client);
      conns.delete(up);
    };
    client.on('close', end);
    up.on('close', end);
    client.on('error', end);
    up.on('error', end);
  });
  await new Promise<void>((r) => front.bind(port, '127.0.0.1', () => r()));
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', () => r()));
  return proxy;
}
