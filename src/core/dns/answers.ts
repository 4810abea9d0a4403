import { SipLocateError } from '../errors';
import { judgeAdditionals } from './additionals';
import { cacheKey, type CacheEntry, type DnsCache } from './cache';
import type { Reply, WireRecord } from './codec';
import type { Nameserver } from './nameservers';
import type { Retrier } from './retries';
import type { DnsClientStats, DnsRecord, RecordType } from './types';

/** A DNS answer still being put together: the RRset and the smallest TTL along the CNAME chain. */
export interface Found {
  canonicalName: string;
  records: DnsRecord[];
  ttl: number;
  nameserver: string;
}

/** What an AnswerBuilder needs from its client: the cache, counters, clock, retrier and TTL/chain limits. */
export interface AnswerConfig {
  retrier: Retrier;
  cache: DnsCache;
  counters: DnsClientStats;
  now: () => number;
  minTtl: number;
  maxTtl: number;
  maxChain: number;
  useAdditional: boolean;
}

/** Turns network replies into answers (following CNAMEs) and caches them, negative answers and trusted additionals. */
export class AnswerBuilder {
  constructor(private readonly config: AnswerConfig) {}

  /** Clamps a TTL to the floor and cap; a TTL of 0 stays 0 (use once, never cached). */
  private clampTtl(ttl: number): number {
    if (ttl <= 0) return 0;
    return Math.min(this.config.maxTtl, Math.max(this.config.minTtl, ttl));
  }

  private store(key: string, entry: CacheEntry, ttl: number): boolean {
    if (ttl <= 0) return false;
    return this.config.cache.set(key, entry);
  }

  /** Network resolution of one question, following CNAMEs by re-query when the reply stops short. */
  async resolve(
    qname: string,
    type: RecordType,
    seen: Set<string>,
    signal: AbortSignal,
    mayHedge?: () => boolean,
  ): Promise<Found> {
    const { reply, ns } = await this.config.retrier.exchange(qname, type, signal, mayHedge);
    if (reply.rcode === 'NXDOMAIN') {
      throw this.negative(qname, type, 'ENOTFOUND', `${qname} does not exist (NXDOMAIN from ${ns.label}).`, reply, ns);
    }
    let current = qname;
    let chainTtl = Number.POSITIVE_INFINITY;
    for (;;) {
      const rrset = reply.answers.filter((r) => r.name === current && r.type === type);
      if (rrset.length > 0) {
        const records = dedupe(rrset);
        const ttl = this.clampTtl(Math.min(chainTtl, ...records.map((r) => r.ttl)));
        const found: Found = { canonicalName: current, records, ttl, nameserver: ns.label };
        this.storeFound(qname, type, found);
        this.acceptAdditionals(qname, type, reply, records, ns);
        return found;
      }
      const cname = reply.answers.find((r) => r.name === current && r.type === 'CNAME');
      if (!cname) break;
      const next = cname.data as string;
      if (seen.has(next) || seen.size > this.config.maxChain) {
        throw new SipLocateError(
          'ECNAMELOOP',
          `The CNAME chain for ${qname} loops or is longer than ${this.config.maxChain} (at ${next}).`,
          { name: qname, type, nameserver: ns.label },
        );
      }
      seen.add(next);
      chainTtl = Math.min(chainTtl, cname.ttl);
      current = next;
    }
    if (current !== qname) {
      const rest = await this.resolve(current, type, seen, signal, mayHedge);
      const found: Found = { ...rest, ttl: this.clampTtl(Math.min(chainTtl, rest.ttl)) };
      this.storeFound(qname, type, found);
      return found;
    }
    throw this.negative(qname, type, 'ENODATA', `${qname} has no ${type} record (NODATA from ${ns.label}).`, reply, ns);
  }

  private storeFound(qname: string, type: RecordType, found: Found): void {
    const entry: CacheEntry = {
      kind: 'positive',
      name: qname,
      type,
      canonicalName: found.canonicalName,
      records: found.records,
      trust: 'answer',
      nameserver: found.nameserver,
      expiresAt: this.config.now() + found.ttl * 1000,
    };
    this.store(cacheKey(qname, type), entry, found.ttl);
  }

  /** Builds (and caches per RFC 2308) a negative answer. */
  private negative(
    qname: string,
    type: RecordType,
    code: 'ENOTFOUND' | 'ENODATA',
    message: string,
    reply: Reply,
    ns: Nameserver,
  ): SipLocateError {
    const soa = reply.authorities.find((r) => r.type === 'SOA');
    if (soa && soa.type === 'SOA') {
      const ttl = Math.min(this.config.maxTtl, soa.ttl, soa.data.minimum);
      this.store(
        cacheKey(qname, type),
        { kind: 'negative', code, message, nameserver: ns.label, expiresAt: this.config.now() + ttl * 1000 },
        ttl,
      );
    }
    return new SipLocateError(code, message, { name: qname, type, nameserver: ns.label });
  }

  /** Caches the additional-section RRsets judgeAdditionals() trusts, at the lowest trust. */
  private acceptAdditionals(qname: string, type: RecordType, reply: Reply, answer: DnsRecord[], ns: Nameserver): void {
    const { accepted, rejected } = judgeAdditionals(qname, type, reply, answer, this.config.useAdditional);
    this.config.counters.additionalRejected += rejected;
    for (const [key, list] of accepted) {
      const records = dedupe(list);
      const ttl = this.clampTtl(Math.min(...records.map((r) => r.ttl)));
      const first = records[0]!;
      const stored = this.store(
        key,
        {
          kind: 'positive',
          name: first.name,
          type: first.type,
          canonicalName: first.name,
          records,
          trust: 'additional',
          nameserver: ns.label,
          expiresAt: this.config.now() + ttl * 1000,
        },
        ttl,
      );
      if (stored) this.config.counters.additionalAccepted += records.length;
      else this.config.counters.additionalRejected += records.length;
    }
  }
}

/** Removes duplicate records of one RRset (same type and data). */
function dedupe(records: WireRecord[]): DnsRecord[] {
  const seen = new Set<string>();
  const out: DnsRecord[] = [];
  for (const r of records) {
    const id = typeof r.data === 'string' ? r.data : JSON.stringify(r.data);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(r as DnsRecord);
  }
  return out;
}
