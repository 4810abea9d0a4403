/**
 * A scriptable fake DNS server on loopback (UDP and TCP on one port) for what real servers will not do:
 * spoofed IDs and questions, garbage, truncation, silence, error rcodes, slow answers, TCP closed mid-answer.
 *
 *   const fake = await startFakeDns((q) => [reply(q, { answers: [...] })]);
 *   ... createDnsClient({ nameservers: [fake.nameserver] }) ...
 *   await fake.stop();
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { freePort } from './ports';

/** A query as the fake server saw it. */
export interface FakeQuery {
  name: string;
  type: string;
  id: number;
  transport: 'udp' | 'tcp';
  hasOpt: boolean;
  raw: Buffer;
}

/** One thing to send back: bytes, optionally after a delay; on TCP `partial` sends a cut frame and closes. */
export type FakeSend = Buffer | { bytes: Buffer; delayMs?: number; partial?: boolean };

/** Decides what to send for a query; an empty list is silence. */
export type FakeHandler = (q: FakeQuery) => FakeSend[];

/** A running fake server. */
export interface FakeDnsServer {
  port: number;
  nameserver: string;
  queries: FakeQuery[];
  stop(): Promise<void>;
}

/** Options of reply(). */
export interface ReplyOptions {
  answers?: dnsPacket.Answer[];
  authorities?: dnsPacket.Answer[];
  additionals?: dnsPacket.Answer[];
  rcode?: number;
  truncated?: boolean;
  id?: number;
  /** Question name to echo (default: exactly as asked, 0x20 case kept). */
  questionName?: string;
  questionType?: string;
  opt?: boolean;
}

/** Encodes a response to `q`, echoing its ID and question unless told otherwise. */
export function reply(q: FakeQuery, o: ReplyOptions = {}): Buffer {
  let flags = dnsPacket.AUTHORITATIVE_ANSWER | (o.rcode ?? 0);
  if (o.truncated) flags |= dnsPacket.TRUNCATED_RESPONSE;
  const additionals = [...(o.additionals ?? [])];
  if (o.opt ?? q.hasOpt)
    additionals.push({
      type: 'OPT',
      name: '.',
      udpPayloadSize: 1232,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: 0,
      flag_do: false,
      options: [],
    });
  return dnsPacket.encode({
    type: 'response',
    id: o.id ?? q.id,
    flags,
    questions: [
      { name: o.questionName ?? q.name, type: (o.questionType ?? q.type) as dnsPacket.RecordType, class: 'IN' },
    ],
    answers: o.answers ?? [],
    authorities: o.authorities ?? [],
    additionals,
  });
}

/** The SOA authority record tests use for negative answers. */
export function soa(zone: string, minimum = 60, ttl = 300): dnsPacket.Answer {
  return {
    type: 'SOA',
    name: zone,
    ttl,
    data: { mname: 'ns1.' + zone, rname: 'h.' + zone, serial: 1, refresh: 60, retry: 60, expire: 60, minimum },
  };
}

function parse(raw: Buffer, transport: 'udp' | 'tcp'): FakeQuery | undefined {
  try {
    const p = dnsPacket.decode(raw);
    // A response is no question: a server neither counts nor answers one (the forgery tests spray forged answers
    // over the loopback ports, and a late answer may reach a port a fake took over).
    if (p.type === 'response') return undefined;
    const q = p.questions?.[0];
    if (!q) return undefined;
    return {
      name: q.name,
      type: q.type,
      id: p.id ?? 0,
      transport,
      hasOpt: (p.additionals ?? []).some((a) => a.type === 'OPT'),
      raw,
    };
  } catch {
    return undefined;
  }
}

/** Starts a fake server on 127.0.0.1 and a free port. */
export async function startFakeDns(handler: FakeHandler): Promise<FakeDnsServer> {
  const port = await freePort();
  const queries: FakeQuery[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const udp: Socket = createSocket('udp4');
  udp.on('message', (raw, rinfo) => {
    const q = parse(raw, 'udp');
    if (!q) return;
    queries.push(q);
    for (const s of handler(q)) {
      const item = Buffer.isBuffer(s) ? { bytes: s } : s;
      const send = (): void => {
        try {
          udp.send(item.bytes, rinfo.port, rinfo.address);
        } catch {
          // socket closed
        }
      };
      if (item.delayMs) later(item.delayMs, send);
      else send();
    }
  });
  const conns = new Set<TcpSocket>();
  const tcp: Server = createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const raw = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + raw.length);
        const q = parse(Buffer.from(raw), 'tcp');
        if (!q) continue;
        queries.push(q);
        for (const s of handler(q)) {
          const item = Buffer.isBuffer(s) ? { bytes: s } : s;
          const frame = Buffer.concat([Buffer.from([item.bytes.length >> 8, item.bytes.length & 0xff]), item.bytes]);
          const send = (): void => {
            if (item.partial) {
              sock.end(frame.subarray(0, Math.max(3, frame.length >> 1)));
            } else sock.write(frame);
          };
          if (item.delayMs) later(item.delayMs, send);
          else send();
        }
      }
    });
  });
  await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', () => resolve()));
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', () => resolve()));
  return {
    port,
    nameserver: `127.0.0.1:${port}`,
    queries,
    async stop() {
      for (const t of timers) clearTimeout(t);
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}

/** A loopback port with nothing bound to it (connected sockets get ECONNREFUSED). */
export async function deadNameserver(): Promise<string> {
  return `127.0.0.1:${await freePort()}`;
}
