import type { NaptrData } from '../dns/types';
import type { Transport } from '../types';
import { serviceInfo, type TransportInfo } from './transports';

/** A NAPTR record we can follow, with its transport and next look-up. */
export interface NaptrChoice {
  record: NaptrData;
  info: TransportInfo;
  /** 's' flag: SRV look-up of the replacement; 'a' flag: A/AAAA look-up of it. */
  lookup: 'srv' | 'a';
}

/** A SIP NAPTR record we did not use, and why (for the trace). */
export interface NaptrSkip {
  record: NaptrData;
  why: string;
}

/** Most NAPTR records considered from one RRset (more are ignored, never an error). */
export const MAX_NAPTR = 64;

/** True for a SIP NAPTR: service starting with "SIP+" or "SIPS+" (case-insensitive). */
export function isSipNaptr(record: NaptrData): boolean {
  const s = record.services.toUpperCase();
  return s.startsWith('SIP+') || s.startsWith('SIPS+');
}

/** Filters SIP NAPTRs to those with an enabled transport, usable flags and no regexp; sorted by order, then preference. */
export function usableNaptrs(
  records: readonly NaptrData[],
  enabled: readonly Transport[],
  scheme: 'sip' | 'sips',
): { usable: NaptrChoice[]; skipped: NaptrSkip[] } {
  const usable: NaptrChoice[] = [];
  const skipped: NaptrSkip[] = [];
  for (const record of records.slice(0, MAX_NAPTR)) {
    if (!isSipNaptr(record)) continue;
    const info = serviceInfo(record.services);
    const flags = record.flags.toLowerCase();
    const hasS = flags.includes('s');
    const hasA = flags.includes('a');
    let why: string | undefined;
    if (!info) why = `service ${record.services} names a transport this package does not support`;
    else if (scheme === 'sips' && !info.secure) why = `service ${record.services} is not secure and the URI is sips:`;
    else if (!enabled.includes(info.transport)) why = `transport ${info.transport} is not enabled`;
    else if (hasS === hasA) why = `flags "${record.flags}" must contain exactly one of "s" or "a"`;
    else if (record.regexp.length > 0) why = 'regexp NAPTR records are not used for SIP';
    else if (record.replacement === '.' || record.replacement.length === 0) why = 'the replacement is empty';
    if (why !== undefined || !info) {
      skipped.push({ record, why: why ?? 'unusable' });
      continue;
    }
    usable.push({ record, info, lookup: hasS ? 'srv' : 'a' });
  }
  usable.sort((x, y) => x.record.order - y.record.order || x.record.preference - y.record.preference);
  return { usable, skipped };
}

/** Groups sorted choices by order, lowest first. */
export function groupByOrder(choices: readonly NaptrChoice[]): NaptrChoice[][] {
  const groups: NaptrChoice[][] = [];
  for (const c of choices) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.record.order === c.record.order) last.push(c);
    else groups.push([c]);
  }
  return groups;
}
