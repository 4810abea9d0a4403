import { cacheKey } from './cache';
import type { Reply, WireRecord } from './codec';
import { bailiwickOf, isAtOrBelow } from './names';
import type { DnsRecord, RecordType } from './types';

/** The additional-section RRsets a reply may add to the cache, by cache key, and how many records were turned down. */
export interface AdditionalVerdict {
  accepted: Map<string, WireRecord[]>;
  rejected: number;
}

/**
 * Decides which additional-section records to trust (cached at the lowest trust): only SRV owners that the NAPTR
 * answer names, and A/AAAA owners that an SRV (answer or accepted additional) names, at or below the question's
 * bailiwick. Everything else is rejected; with `enabled` false, all of it.
 */
export function judgeAdditionals(
  qname: string,
  type: RecordType,
  reply: Reply,
  answer: readonly DnsRecord[],
  enabled: boolean,
): AdditionalVerdict {
  const extra = reply.additionals;
  const accepted = new Map<string, WireRecord[]>();
  if (extra.length === 0) return { accepted, rejected: 0 };
  if (!enabled || (type !== 'NAPTR' && type !== 'SRV')) return { accepted, rejected: extra.length };
  const zone = bailiwickOf(qname);
  const wantedSrv = new Set<string>();
  const wantedHosts = new Set<string>();
  for (const r of answer) {
    if (r.type === 'NAPTR') wantedSrv.add((r.data as { replacement: string }).replacement);
    if (r.type === 'SRV') wantedHosts.add((r.data as { target: string }).target);
  }
  const take = (r: WireRecord): void => {
    const key = cacheKey(r.name, r.type as RecordType);
    const list = accepted.get(key);
    if (list) list.push(r);
    else accepted.set(key, [r]);
  };
  for (const r of extra) {
    if (r.type === 'SRV' && wantedSrv.has(r.name) && isAtOrBelow(r.name, zone)) {
      take(r);
      wantedHosts.add(r.data.target);
    }
  }
  let rejected = 0;
  for (const r of extra) {
    if (r.type === 'SRV') {
      if (!accepted.has(cacheKey(r.name, 'SRV'))) rejected++;
    } else if ((r.type === 'A' || r.type === 'AAAA') && wantedHosts.has(r.name) && isAtOrBelow(r.name, zone)) {
      take(r);
    } else {
      rejected++;
    }
  }
  return { accepted, rejected };
}
