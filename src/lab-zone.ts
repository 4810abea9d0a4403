/**
 * The lab's demo zone and its DNS server (`sip-locate lab`; the SIP endpoints are in lab-sip.ts, the command in
 * lab-command.ts), on 127.0.0.1 only: a small authoritative server answers for the demo zone, and the sockets the
 * lab binds. The examples carry the same zone as the sip-resolver's static records, so they locate without this
 * DNS server; it is here for those who want real queries.
 */
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import * as dnsPacket from 'dns-packet';

/** The demo zone's origin. */
export const LAB_ORIGIN = 'demo.test';
/** First SIP port: healthy, healthy2, busy and silent listen on this port and the next three (UDP and TCP). */
export const LAB_SIP_PORT = 15060;
/** Port of the lab's DNS server (UDP and TCP). */
export const LAB_DNS_PORT = 15353;
/** The lab's address: every OS's loopback has 127.0.0.1. */
export const LAB_ADDRESS = '127.0.0.1';
/** TTL of every record in the demo zone, seconds: short, so a changed lab is seen within a minute. */
const ZONE_TTL = 60;
/** Largest DNS message or SIP request head a lab server buffers from one TCP connection, bytes (a DNS message is at most 65535 + 2). */
export const MAX_TCP_BUFFER = 65_537;
/** Most TCP connections one lab server keeps open (a lab serves one user's tests; more is a runaway client). */
export const MAX_TCP_CONNECTIONS = 64;
/** Attempts to find free ports when a port 0 start clashes between its UDP bind and TCP listen. */
const PORT_ATTEMPTS = 5;

/** How a lab SIP endpoint answers OPTIONS. */
export type Behaviour = 'ok' | 'busy' | 'silent';
/** The lab endpoints' names and behaviours, in port order (port, port+1, ...). */
export const LAB_ENDPOINTS: ReadonlyArray<readonly [EndpointName, Behaviour]> = [
  ['healthy', 'ok'],
  ['healthy2', 'ok'],
  ['busy', 'busy'],
  ['silent', 'silent'],
];
/** The name of a lab endpoint (also its host name in the demo zone). */
export type EndpointName = 'healthy' | 'healthy2' | 'busy' | 'silent';
/** Where an endpoint listens. */
export interface Place {
  address: string;
  port: number;
}

/** One record of the demo zone. */
export type ZoneRecord =
  | { type: 'A'; name: string; ttl: number; data: string }
  | { type: 'SRV'; name: string; ttl: number; data: { priority: number; weight: number; port: number; target: string } }
  | {
      type: 'NAPTR';
      name: string;
      ttl: number;
      data: { order: number; preference: number; flags: string; services: string; regexp: string; replacement: string };
    }
  | {
      type: 'SOA';
      name: string;
      ttl: number;
      data: {
        mname: string;
        rname: string;
        serial: number;
        refresh: number;
        retry: number;
        expire: number;
        minimum: number;
      };
    };

/** The records of the demo zone for the given endpoints. */
export function demoZone(origin: string, ep: Record<EndpointName, Place>): ZoneRecord[] {
  const n = (s: string): string => (s ? `${s}.${origin}` : origin);
  const A = (name: string, address: string): ZoneRecord => ({ type: 'A', name: n(name), ttl: ZONE_TTL, data: address });
  const SRV = (name: string, priority: number, weight: number, port: number, target: string): ZoneRecord => ({
    type: 'SRV',
    name: n(name),
    ttl: ZONE_TTL,
    data: { priority, weight, port, target: n(target) },
  });
  const NAPTR = (
    name: string,
    order: number,
    preference: number,
    flags: string,
    services: string,
    regexp: string,
    replacement: string,
  ): ZoneRecord => ({
    type: 'NAPTR',
    name: n(name),
    ttl: ZONE_TTL,
    data: { order, preference, flags, services, regexp, replacement },
  });
  return [
    {
      type: 'SOA',
      name: origin,
      ttl: ZONE_TTL,
      data: { mname: n('ns'), rname: n('hostmaster'), serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 30 },
    },
    A('ns', LAB_ADDRESS),
    // pbx: NAPTR -> SRV; a busy server (503) and a silent one at priority 10, the healthy one at 20.
    NAPTR('pbx', 10, 10, 's', 'SIP+D2U', '', n('_sip._udp.pbx')),
    NAPTR('pbx', 20, 10, 's', 'SIP+D2T', '', n('_sip._tcp.pbx')),
    SRV('_sip._udp.pbx', 10, 50, ep.busy.port, 'busy'),
    SRV('_sip._udp.pbx', 10, 50, ep.silent.port, 'silent'),
    SRV('_sip._udp.pbx', 20, 0, ep.healthy.port, 'healthy'),
    SRV('_sip._tcp.pbx', 10, 0, ep.healthy.port, 'healthy'),
    // registrar: two healthy servers sharing the load: without sticky mode requests alternate between them.
    SRV('_sip._udp.registrar', 10, 50, ep.healthy.port, 'healthy'),
    SRV('_sip._udp.registrar', 10, 50, ep.healthy2.port, 'healthy2'),
    // ENUM tree (example 07): +1 202 555 0101 leads to pbx (failover to the healthy server); other numbers use the gateway.
    NAPTR('1.0.1.0.5.5.5.2.0.2.1.e164', 10, 10, 'u', 'E2U+sip', `!^\\+(.*)$!sip:\\1@pbx.${origin}!`, '.'),
    NAPTR('1.0.1.0.5.5.5.2.0.2.1.e164', 10, 20, 'u', 'E2U+email:mailto', `!^.*$!mailto:info@${origin}!`, '.'),
    SRV('_sip._udp.gateway', 10, 0, ep.healthy2.port, 'healthy2'),
    // Two carriers (example 09's destination set): carrier A is the busy and the silent server, carrier B the two healthy ones.
    NAPTR('carrier-a', 10, 10, 's', 'SIP+D2U', '', n('_sip._udp.carrier-a')),
    SRV('_sip._udp.carrier-a', 10, 50, ep.busy.port, 'busy'),
    SRV('_sip._udp.carrier-a', 10, 50, ep.silent.port, 'silent'),
    NAPTR('carrier-b', 10, 10, 's', 'SIP+D2U', '', n('_sip._udp.carrier-b')),
    SRV('_sip._udp.carrier-b', 10, 50, ep.healthy.port, 'healthy'),
    SRV('_sip._udp.carrier-b', 10, 50, ep.healthy2.port, 'healthy2'),
    A('healthy', ep.healthy.address),
    A('healthy2', ep.healthy2.address),
    A('busy', ep.busy.address),
    A('silent', ep.silent.address),
  ];
}

/** The lab endpoints' places for a first port. */
export function labPlaces(sipPort = LAB_SIP_PORT, address = LAB_ADDRESS): Record<EndpointName, Place> {
  const out = {} as Record<EndpointName, Place>;
  LAB_ENDPOINTS.forEach(([name], i) => (out[name] = { address, port: sipPort + i }));
  return out;
}

/** A zone-file string: quoted, with `\` and `"` escaped as the static records parser reads them. */
const quote = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** The zone as static-record lines (the sip-resolver's "Static records" setting); the SOA is left out. */
export function staticRecordLines(records: readonly ZoneRecord[]): string {
  const lines: string[] = [];
  for (const r of records) {
    if (r.type === 'A') lines.push(`${r.name} ${r.ttl} A ${r.data}`);
    else if (r.type === 'SRV')
      lines.push(`${r.name} ${r.ttl} SRV ${r.data.priority} ${r.data.weight} ${r.data.port} ${r.data.target}`);
    else if (r.type === 'NAPTR')
      lines.push(
        `${r.name} ${r.ttl} NAPTR ${r.data.order} ${r.data.preference} ${quote(r.data.flags)} ${quote(r.data.services)} ${quote(r.data.regexp)} ${r.data.replacement}`,
      );
  }
  return lines.join('\n');
}

/** The static records the examples carry: the demo zone for the lab on sipPort. */
export function labStaticRecords(sipPort = LAB_SIP_PORT): string {
  return staticRecordLines(demoZone(LAB_ORIGIN, labPlaces(sipPort)));
}

/** Flow nodes with every sip-resolver that carries the lab's static records moved to a lab on another first SIP port. */
export function withLabPort<T extends object>(flows: readonly T[], sipPort: number): T[] {
  const shipped = labStaticRecords();
  const moved = labStaticRecords(sipPort);
  return flows.map((n) => ('staticRecords' in n && n.staticRecords === shipped ? { ...n, staticRecords: moved } : n));
}

/**
 * Runs start(port); when port is 0 (any free one) and the TCP side clashes with a port another process took
 * between the UDP bind and the TCP listen (EADDRINUSE), tries again with a new one.
 */
export async function withFreshPortOnClash<T>(port: number, start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(port);
    } catch (err) {
      if (port !== 0 || (err as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE' || attempt >= PORT_ATTEMPTS)
        throw err;
    }
  }
}

/** A UDP socket and a TCP server on one address:port, with a bounded set of connections. */
export interface Pair {
  port: number;
  /** TCP connections open now. */
  readonly connections: number;
  stop(): Promise<void>;
}

/** Binds UDP on address:port, then listens on TCP on the port UDP got; onTcp gets each connection. */
export async function bindPair(
  address: string,
  port: number,
  onUdp: (buf: Buffer, reply: (out: Buffer) => void) => void,
  onTcp: (sock: Socket) => void,
): Promise<Pair> {
  const udp = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (buf, rinfo) => onUdp(buf, (out) => udp.send(out, rinfo.port, rinfo.address)));
  udp.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, address, () => resolve());
  });
  const bound = udp.address().port;
  const conns = new Set<Socket>();
  const tcp = createServer((sock) => {
    if (conns.size >= MAX_TCP_CONNECTIONS) {
      sock.destroy();
      return;
    }
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    onTcp(sock);
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', (err) => udp.close(() => reject(err)));
    tcp.listen(bound, address, () => resolve());
  });
  return {
    port: bound,
    get connections() {
      return conns.size;
    },
    async stop() {
      for (const c of conns) c.destroy();
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}

/** A running DNS server for a zone. */
export interface ZoneServer {
  address: string;
  port: number;
  /** address:port, as a nameserver setting takes it. */
  nameserver: string;
  /** Questions answered so far. */
  readonly queries: number;
  stop(): Promise<void>;
}

/** Starts an authoritative server for `records` on address:port (port 0 = a free one), UDP and TCP. */
export function startZoneServer(o: {
  address?: string;
  port?: number;
  origin: string;
  records: readonly ZoneRecord[];
}): Promise<ZoneServer> {
  return withFreshPortOnClash(o.port ?? 0, (p) => startZoneServerOn(o.address ?? LAB_ADDRESS, p, o.origin, o.records));
}

async function startZoneServerOn(
  address: string,
  port: number,
  origin: string,
  records: readonly ZoneRecord[],
): Promise<ZoneServer> {
  const lower = (s: string): string => s.toLowerCase().replace(/\.$/, '');
  const soa = records.find((r) => r.type === 'SOA');
  const names = new Set(records.map((r) => lower(r.name)));
  let queries = 0;
  const answer = (query: dnsPacket.DecodedPacket): Buffer => {
    const q = query.questions?.[0];
    const base = {
      type: 'response' as const,
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER,
      questions: query.questions ?? [],
    };
    if (!q) return dnsPacket.encode({ ...base, flags: base.flags | 1 });
    const name = lower(q.name);
    const inZone = name === lower(origin) || name.endsWith('.' + lower(origin));
    if (!inZone) return dnsPacket.encode({ ...base, flags: 5 });
    const answers = records
      .filter((r) => lower(r.name) === name && r.type === q.type)
      .map((r) => ({ ...r, name: q.name }));
    const additionals: ZoneRecord[] = [];
    for (const a of answers) {
      if (a.type === 'SRV')
        for (const r of records) if (lower(r.name) === lower(a.data.target) && r.type === 'A') additionals.push(r);
    }
    if (answers.length === 0)
      return dnsPacket.encode({
        ...base,
        flags: base.flags | (names.has(name) ? 0 : 3),
        authorities: soa ? [soa] : [],
      });
    return dnsPacket.encode({ ...base, answers, additionals });
  };
  const reply = (msg: Buffer): Buffer | undefined => {
    try {
      queries++;
      return answer(dnsPacket.decode(msg));
    } catch {
      return undefined; // not DNS: no answer
    }
  };
  const pair = await bindPair(
    address,
    port,
    (buf, send) => {
      const out = reply(buf);
      if (out) send(out);
    },
    (sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length > MAX_TCP_BUFFER) return void sock.destroy();
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + msg.length);
          const out = reply(msg);
          if (!out) continue;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          sock.write(Buffer.concat([len, out]));
        }
      });
    },
  );
  return {
    address,
    port: pair.port,
    nameserver: `${address}:${pair.port}`,
    get queries() {
      return queries;
    },
    stop: () => pair.stop(),
  };
}
