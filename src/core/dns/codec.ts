import * as dnsPacket from 'dns-packet';
import { frameRecords } from './framing';
import { normaliseName } from './names';
import type { NaptrData, RecordType, SrvData } from './types';

/** dns-packet's single-record codec (typed here: @types/dns-packet does not declare it). */
const recordCodec = (
  dnsPacket as unknown as { answer: { decode: ((buf: Buffer, offset: number) => unknown) & { bytes: number } } }
).answer;

/** EDNS0 UDP payload size we advertise (the DNS flag day 2020 value). */
export const EDNS_PAYLOAD = 1232;

/** A record of a reply, with normalised names and a clamped TTL. */
export type WireRecord =
  | { name: string; type: 'A' | 'AAAA' | 'CNAME'; ttl: number; data: string }
  | { name: string; type: 'SRV'; ttl: number; data: SrvData }
  | { name: string; type: 'NAPTR'; ttl: number; data: NaptrData }
  | { name: string; type: 'SOA'; ttl: number; data: { minimum: number } }
  | { name: string; type: 'OTHER'; ttl: number; data: null };

/** A decoded reply, reduced to what the client checks and uses. */
export interface Reply {
  id: number;
  isResponse: boolean;
  opcode: string;
  truncated: boolean;
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED, NOTIMP, FORMERR, BADVERS, ... */
  rcode: string;
  hasOpt: boolean;
  /** The question exactly as received (case preserved). */
  question: { name: string; type: string; klass: string };
  answers: WireRecord[];
  authorities: WireRecord[];
  additionals: WireRecord[];
}

/** Encodes a recursive query for one question, with or without an EDNS0 OPT record. */
export function encodeQuery(id: number, wireName: string, type: RecordType, edns: boolean): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name: wireName, class: 'IN' }],
    additionals: edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: EDNS_PAYLOAD,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ]
      : [],
  });
}

/** Reads the 16-bit ID of a message without decoding it (undefined when too short). */
export function peekId(buf: Buffer): number | undefined {
  return buf.length >= 2 ? buf.readUInt16BE(0) : undefined;
}

/** RFC 2181 section 8: a TTL with the top bit set counts as 0. */
function clampTtl(ttl: unknown): number {
  return typeof ttl === 'number' && ttl >= 0 && ttl <= 0x7fffffff ? ttl : 0;
}

function toRecord(raw: dnsPacket.Answer): WireRecord {
  const name = normaliseName(String(raw.name));
  const ttl = clampTtl((raw as { ttl?: number }).ttl);
  const data = (raw as { data?: unknown }).data;
  switch (raw.type) {
    case 'A':
    case 'AAAA':
      return { name, type: raw.type, ttl, data: String(data) };
    case 'CNAME':
      return { name, type: 'CNAME', ttl, data: normaliseName(String(data)) };
    case 'SRV': {
      const d = data as dnsPacket.SrvData;
      return {
        name,
        type: 'SRV',
        ttl,
        data: { priority: d.priority ?? 0, weight: d.weight ?? 0, port: d.port, target: normaliseName(d.target) },
      };
    }
    case 'NAPTR': {
      const d = data as {
        order: number;
        preference: number;
        flags: string;
        services: string;
        regexp: string;
        replacement: string;
      };
      return {
        name,
        type: 'NAPTR',
        ttl,
        data: {
          order: d.order,
          preference: d.preference,
          flags: String(d.flags),
          services: String(d.services),
          regexp: String(d.regexp),
          replacement: normaliseName(String(d.replacement)),
        },
      };
    }
    case 'SOA':
      return { name, type: 'SOA', ttl, data: { minimum: clampTtl((data as { minimum?: number }).minimum) } };
    default:
      return { name, type: 'OTHER', ttl, data: null };
  }
}

/** RFC 6891 6.1.3: the 12-bit RCODE is the OPT's 8 upper bits above the header's 4 lower bits; 16 is BADVERS. */
export function extendedRcodeName(upper: number, lower: number): string {
  const full = (upper << 4) | lower;
  return full === 16 ? 'BADVERS' : `RCODE${full}`;
}

/** Checks framing and decodes a reply; returns a reason string instead of throwing when it is malformed. */
export function decodeReply(buf: Buffer): Reply | string {
  const bounds = frameRecords(buf);
  if (typeof bounds === 'string') return bounds;
  let packet: dnsPacket.Packet;
  try {
    // Each record must decode to exactly its own bytes: dns-packet advances by what it parsed for some types
    // (NAPTR, DNAME, ...), and a record that lies about its RDATA would shift every record after it.
    for (const [start, end] of bounds) {
      recordCodec.decode(buf, start);
      if (recordCodec.decode.bytes !== end - start) return 'a record does not decode to its RDLENGTH';
    }
    packet = dnsPacket.decode(buf);
  } catch (err) {
    return `undecodable: ${err instanceof Error ? err.message : 'unknown error'}`;
  }
  try {
    const q = packet.questions?.[0];
    if (!q) return 'no question';
    const opt = (packet.additionals ?? []).find((r) => r.type === 'OPT') as { extendedRcode?: number } | undefined;
    const header = packet as { rcode?: string; flags?: number };
    let rcode = String(header.rcode ?? 'NOERROR');
    if (opt && opt.extendedRcode) rcode = extendedRcodeName(opt.extendedRcode, (header.flags ?? 0) & 0xf);
    const flags = packet as { flag_qr?: boolean; flag_tc?: boolean; opcode?: string };
    return {
      id: packet.id ?? -1,
      isResponse: flags.flag_qr === true,
      opcode: String(flags.opcode),
      truncated: flags.flag_tc === true,
      rcode,
      hasOpt: opt !== undefined,
      question: { name: String(q.name), type: String(q.type), klass: String(q.class) },
      answers: (packet.answers ?? []).map(toRecord),
      authorities: (packet.authorities ?? []).map(toRecord),
      additionals: (packet.additionals ?? []).filter((r) => r.type !== 'OPT').map(toRecord),
    };
  } catch (err) {
    return `unusable: ${err instanceof Error ? err.message : 'unknown error'}`;
  }
}
