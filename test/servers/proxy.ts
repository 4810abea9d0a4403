/**
 * A userspace DNS proxy on loopback (UDP and TCP on one port) in front of a real server: a delay each way with
 * optional jitter, seeded loss of UDP packets in both directions, optional stripping of the additional section,
 * and counters of what it forwarded.
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
  /** Probability of dropping each UDP packet, each direction on its own (0..1, default 0). */
  loss?: number;
  /** Extra delay per packet and direction, uniform in [0, jitterMs), ms (default 0). */
  jitterMs?: number;
  /** Seed of the loss and jitter draws, so a run can be repeated (default 1). */
  seed?: number;
}

/** A seeded generator of numbers in [0, 1) (mulberry32): loss and jitter repeat with the seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A running proxy with its counters. */
export interface DnsProxy {
  nameserver: string;
  udpQueries: number;
  tcpConnections: number;
  /** "TYPE name" of each UDP query, in arrival order. */
  questions: string[];
  /** UDP packets dropped on purpose (queries and answers). */
  dropped: number;
  /** Changes the loss probability from now on. */
  setLoss(p: number): void;
  reset(): void;
  stop(): Promise<void>;
}

/** Starts a proxy on a free loopback port. */
export async function startProxy(o: ProxyOptions): Promise<DnsProxy> {
  const [upHost, upPortText] = o.upstream.split(':') as [string, string];
  const upPort = Number(upPortText);
  const delay = o.delayMs ?? 0;
  const jitter = o.jitterMs ?? 0;
  let loss = o.loss ?? 0;
  const random = seededRandom(o.seed ?? 1);
  const port = await freePort();
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void): void => {
    const ms = delay + (jitter > 0 ? random() * jitter : 0);
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  /** Whether this UDP packet is lost (drawn from the seeded generator). */
  const lost = (): boolean => {
    if (loss <= 0 || random() >= loss) return false;
    proxy.dropped++;
    return true;
  };
  const upstreams = new Set<Socket>();
  const conns = new Set<TcpSocket>();
  const proxy: DnsProxy = {
    nameserver: `127.0.0.1:${port}`,
    udpQueries: 0,
    tcpConnections: 0,
    questions: [],
    dropped: 0,
    setLoss(p: number) {
      loss = p;
    },
    reset() {
      proxy.dropped = 0;
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
    let question: string | undefined;
    try {
      const p = dnsPacket.decode(msg);
      // A response is no question: neither counted nor forwarded (the forgery tests spray forged answers over the
      // loopback ports, and a late answer may reach a port the proxy took over).
      if (p.type === 'response') return;
      const q = p.questions?.[0];
      if (q) question = `${q.type} ${q.name.toLowerCase()}`;
    } catch {
      // garbage: counted and forwarded anyway
    }
    proxy.udpQueries++;
    if (question) proxy.questions.push(question);
    if (lost()) return;
    later(() => {
      const up = createSocket('udp4');
      upstreams.add(up);
      const done = (): void => {
        if (!upstreams.delete(up)) return; // already closed by stop()
        up.close();
      };
      const guard = setTimeout(done, 10_000); // the upstream's reply, at least 10 s on a busy machine
      up.on('message', (answer, from) => {
        // Only the upstream's answer: a packet from elsewhere (a forged answer sprayed over the ports) is dropped.
        if (from.port !== upPort || from.address !== upHost) return;
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
        if (!lost()) later(() => front.send(out, rinfo.port, rinfo.address));
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
