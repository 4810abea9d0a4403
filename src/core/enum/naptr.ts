import type { NaptrData } from '../dns/types';

/** Most NAPTR records considered from one ENUM RRset (more are ignored, never an error). */
export const MAX_ENUM_NAPTR = 64;

/** How an ENUM NAPTR record is used: a terminal SIP rule, a non-terminal rule to follow, or neither (and why). */
export type EnumRule =
  | { kind: 'terminal'; record: NaptrData }
  | { kind: 'nonterminal'; record: NaptrData }
  | { kind: 'skip'; record: NaptrData; why: string };

/**
 * True when an ENUM service field ("E2U+sip", "E2U+voice:sip", "e2u+email:mailto+sip") names SIP:
 * "E2U" then "+enumservice" specs (RFC 6116 section 3.4.3), type "sip" (RFC 3764) or "voice" with subtype "sip" (RFC 4415).
 */
export function isSipEnumService(services: string): boolean {
  const [head, ...specs] = services.toLowerCase().split('+');
  if (head !== 'e2u' || specs.length === 0) return false;
  return specs.some((spec) => {
    const [type, ...subtypes] = spec.split(':');
    return (type === 'sip' && subtypes.length === 0) || (type === 'voice' && subtypes.includes('sip'));
  });
}

/** Classifies one record: flag "u" with a SIP enumservice is terminal, empty flags are non-terminal (RFC 6116 section 3.4.1). */
export function classifyEnumNaptr(record: NaptrData): EnumRule {
  const flags = record.flags.toLowerCase();
  if (flags === 'u') {
    if (!isSipEnumService(record.services))
      return { kind: 'skip', record, why: `service "${record.services}" is not E2U+sip or E2U+voice:sip` };
    if (record.regexp.length === 0) return { kind: 'skip', record, why: 'a terminal rule needs a regexp' };
    return { kind: 'terminal', record };
  }
  if (flags === '') {
    const services = record.services.toLowerCase();
    if (services !== '' && services !== 'e2u' && !services.startsWith('e2u+'))
      return { kind: 'skip', record, why: `service "${record.services}" is not an ENUM (E2U) service` };
    const hasReplacement = record.replacement.length > 0 && record.replacement !== '.';
    if (hasReplacement === record.regexp.length > 0)
      return { kind: 'skip', record, why: 'a non-terminal rule needs exactly one of a regexp or a replacement' };
    return { kind: 'nonterminal', record };
  }
  return { kind: 'skip', record, why: `flags "${record.flags}" are neither "u" nor empty` };
}

/** The first MAX_ENUM_NAPTR records of one RRset by order, then preference (RFC 3403 section 4.1). */
export function orderEnumNaptrs(records: readonly NaptrData[]): NaptrData[] {
  return records
    .slice()
    .sort((x, y) => x.order - y.order || x.preference - y.preference)
    .slice(0, MAX_ENUM_NAPTR);
}
