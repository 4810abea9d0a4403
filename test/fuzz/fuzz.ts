/**
 * A seeded fuzzer for the DNS reply path. Tier 1 feeds mutated and generated replies through the client's
 * parse path (framing check, decode, matching) and checks the invariants of what it accepts. Tier 2 sends
 * such replies over real UDP from a fake server to a real client and checks that every query ends in an
 * answer or a typed error.
 */
import { isIP } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { decodeReply, type Reply } from '../../src/core/dns/codec';
import { matchReply } from '../../src/core/dns/exchange';
import { createDnsClient } from '../../src/core/dns/client';
import { SipLocateError } from '../../src/core/errors';
import { startFakeDns } from '../servers/fake-dns';
import { seeded } from '../rfc3263/seeded';

/** What a run found. */
export interface FuzzReport {
  cases: number;
  accepted: number;
  rejected: number;
  crashes: number;
  /** The first few crash descriptions. */
  examples: string[];
}

const QNAME = 'exAmPle.test';

/** Replies to mutate: real server answers when given, else encoded with dns-packet. */
export function baseCorpus(captured: Buffer[] = [], qname = QNAME): Buffer[] {
  const q = { name: qname, type: 'NAPTR' as const, class: 'IN' as const };
  const mk = (p: Partial<dnsPacket.Packet>): Buffer =>
    Buffer.from(dnsPacket.encode({ type: 'response', id: 4660, flags: 1024, questions: [q], ...p }));
  return [
    ...captured,
    mk({
      answers: [
        {
          type: 'NAPTR',
          name: qname,
          ttl: 300,
          data: {
            order: 10,
            preference: 50,
            flags: 's',
            services: 'SIP+D2U',
            regexp: '',
            replacement: '_sip._udp.example.test',
          },
        },
        { type: 'CNAME', name: qname, ttl: 60, data: 'alias.example.test' },
      ],
      authorities: [
        {
          type: 'SOA',
          name: 'example.test',
          ttl: 60,
          data: {
            mname: 'ns1.example.test',
            rname: 'h.example.test',
            serial: 1,
            refresh: 1,
            retry: 1,
            expire: 1,
            minimum: 60,
          },
        },
      ],
      additionals: [
        {
          type: 'SRV',
          name: '_sip._udp.example.test',
          ttl: 300,
          data: { priority: 10, weight: 5, port: 5060, target: 'sip1.example.test' },
        },
        { type: 'A', name: 'sip1.example.test', ttl: 300, data: '127.0.0.1' },
        { type: 'AAAA', name: 'sip1.example.test', ttl: 300, data: '::1' },
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ],
    }),
  ];
}

/** One mutated or generated reply. */
export function makeCase(rnd: () => number, corpus: Buffer[]): Buffer {
  const int = (n: number): number => Math.floor(rnd() * n);
  const base = Buffer.from(corpus[int(corpus.length)]!);
  base.writeUInt16BE(4660, 0);
  switch (int(12)) {
    case 0: {
      // random byte flips
      for (let i = 0, n = 1 + int(8); i < n; i++) base[int(base.length)] = int(256);
      return base;
    }
    case 1: // truncation
      return base.subarray(0, int(base.length));
    case 2: {
      // count lies
      base.writeUInt16BE(int(65536), 4 + 2 * int(4));
      return base;
    }
    case 3: {
      // RDLENGTH lie somewhere
      const at = 12 + int(Math.max(1, base.length - 14));
      base.writeUInt16BE(int(65536), at);
      return base;
    }
    case 4: {
      // compression pointer forward, to itself, or in a loop
      const at = 12 + int(Math.max(1, base.length - 14));
      const target = [at, at + 2 + int(40), 12, int(base.length)][int(4)]!;
      base[at] = 0xc0 | ((target >> 8) & 0x3f);
      base[at + 1] = target & 0xff;
      return base;
    }
    case 5: {
      // a dot, a control byte or a space inside a label
      const at = 13 + int(Math.max(1, base.length - 14));
      base[at] = [0x2e, 0x00, 0x07, 0x20, 0x5c, 0xff][int(6)]!;
      return base;
    }
    case 6: {
      // TTLs with the top bit or huge values
      for (let i = 0; i < 4; i++) {
        const at = 12 + int(Math.max(1, base.length - 16));
        base.writeUInt32BE([0xffffffff, 0x80000000, 0x7fffffff, int(2 ** 32)][int(4)]!, at);
      }
      return base;
    }
    case 7: {
      // class other than IN
      const at = 12 + int(Math.max(1, base.length - 14));
      base.writeUInt16BE([3, 255, 0x8001, 254, int(65536)][int(5)]!, at);
      return base;
    }
    case 8: // trailing bytes
      return Buffer.concat([base, Buffer.from(Array.from({ length: 1 + int(20) }, () => int(256)))]);
    case 9: {
      // OPT in the wrong place: a second OPT in the answer section
      const opt = Buffer.from([0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0]);
      const out = Buffer.concat([base, opt]);
      out.writeUInt16BE(out.readUInt16BE(6) + 1, 6);
      return out;
    }
    case 10: // random bytes with a valid-looking header
      return Buffer.concat([base.subarray(0, 12), Buffer.from(Array.from({ length: int(300) }, () => int(256)))]);
    default: {
      // splice two replies
      const other = corpus[int(corpus.length)]!;
      const cut = int(base.length);
      return Buffer.concat([base.subarray(0, cut), other.subarray(int(other.length))]);
    }
  }
}

/** What the framing check guarantees for consumed names: printable labels without dots, spaces or backslashes. */
const NAME_OK = /^(?:\.|[\x21-\x2d\x2f-\x5b\x5d-\x7e]+(?:\.[\x21-\x2d\x2f-\x5b\x5d-\x7e]+)*)$/;

/** The invariants of an accepted reply; a description of the first one broken, or undefined. */
function brokenInvariant(r: Reply): string | undefined {
  for (const rec of [...r.answers, ...r.additionals]) {
    if (typeof rec.name !== 'string' || (rec.name.length > 0 && !NAME_OK.test(rec.name)))
      return `owner ${JSON.stringify(rec.name)}`;
    if (!Number.isInteger(rec.ttl) || rec.ttl < 0 || rec.ttl > 0x7fffffff) return `ttl ${rec.ttl}`;
    if (rec.type === 'A' && isIP(rec.data) !== 4) return `A ${rec.data}`;
    if (rec.type === 'AAAA' && isIP(rec.data) !== 6) return `AAAA ${rec.data}`;
    if (rec.type === 'SRV' && !NAME_OK.test(rec.data.target) && isIP(rec.data.target) === 0)
      return `SRV target ${JSON.stringify(rec.data.target)}`;
    if (rec.type === 'NAPTR' && !NAME_OK.test(rec.data.replacement))
      return `NAPTR replacement ${JSON.stringify(rec.data.replacement)}`;
  }
  return undefined;
}

/** Tier 1: `cases` replies through framing, decode and matching; counts crashes (exceptions or broken invariants). */
export function fuzzParsePath(cases: number, seed: number, corpus = baseCorpus()): FuzzReport {
  const rnd = seeded(seed);
  const report: FuzzReport = { cases: 0, accepted: 0, rejected: 0, crashes: 0, examples: [] };
  const req = {
    ns: { host: '127.0.0.1', port: 53, family: 4 as const, label: '127.0.0.1:53' },
    id: 4660,
    wireName: QNAME,
    type: 'NAPTR' as const,
    edns: true,
    timeoutMs: 1,
  };
  for (let i = 0; i < cases; i++) {
    const buf = makeCase(rnd, corpus);
    report.cases++;
    try {
      const r = decodeReply(buf);
      if (typeof r === 'string') {
        report.rejected++;
        continue;
      }
      const broken = brokenInvariant(r);
      if (broken) {
        report.crashes++;
        if (report.examples.length < 5)
          report.examples.push(`case ${i}: accepted a reply with ${broken}: ${buf.toString('hex').slice(0, 120)}`);
        continue;
      }
      matchReply(r, req, true);
      report.accepted++;
    } catch (err) {
      report.crashes++;
      if (report.examples.length < 5)
        report.examples.push(`case ${i}: ${String(err)}: ${buf.toString('hex').slice(0, 120)}`);
    }
  }
  return report;
}

/** The reply with its question name replaced (same length names only; others are returned as they are). */
function withQuestion(reply: Buffer, name: string): Buffer {
  try {
    const p = dnsPacket.decode(reply);
    if (!p.questions?.[0]) return reply;
    p.questions[0].name = name;
    return Buffer.from(dnsPacket.encode(p));
  } catch {
    return reply;
  }
}

/** Tier 2: `cases` hostile replies over real UDP to a real client; every query must end in an answer or a typed error. */
export async function fuzzClient(
  cases: number,
  seed: number,
  corpus: Buffer[] = [],
): Promise<FuzzReport & { unhandled: number }> {
  const rnd = seeded(seed);
  const report = { cases: 0, accepted: 0, rejected: 0, crashes: 0, examples: [] as string[], unhandled: 0 };
  const onUnhandled = (): void => {
    report.unhandled++;
  };
  process.on('unhandledRejection', onUnhandled);
  const fake = await startFakeDns((q) => {
    const b = makeCase(rnd, [...corpus.map((c) => withQuestion(c, q.name)), ...baseCorpus([], q.name)]);
    if (b.length >= 2) b.writeUInt16BE(q.id, 0);
    return q.transport === 'udp' ? [b] : [];
  });
  const client = createDnsClient({ nameservers: [fake.nameserver], timeoutMs: 30, tries: 1, dns0x20: false });
  try {
    for (let i = 0; i < cases; i += 50) {
      const batch = Array.from({ length: Math.min(50, cases - i) }, (_, k) =>
        client.query(`c${i + k}.example.test`, 'NAPTR').then(
          () => 'accepted' as const,
          (err: unknown) =>
            err instanceof SipLocateError
              ? ('rejected' as const)
              : (report.examples.push(String(err)), 'crash' as const),
        ),
      );
      for (const outcome of await Promise.all(batch)) {
        report.cases++;
        if (outcome === 'accepted') report.accepted++;
        else if (outcome === 'rejected') report.rejected++;
        else report.crashes++;
      }
    }
  } finally {
    client.close();
    await fake.stop();
    process.off('unhandledRejection', onUnhandled);
  }
  return report;
}
