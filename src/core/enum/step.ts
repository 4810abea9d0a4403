import type { DnsQuerier } from '../dns/types';
import { SipLocateError } from '../errors';
import type { Clock, EnumResult, LocateResult, TraceNode } from '../types';
import { parseSipUri, strictSipUriProblem } from '../uri';
import { isDomainName, lookupEnum, MAX_ENUM_QUERIES, NEGATIVE_ENUM_TTL } from './lookup';
import { isTelUri, parseTelephoneSubscriber, parseTelUri, type TelNumber } from './tel';

/** The ENUM settings of a locator. */
export interface EnumOptions {
  /** ENUM suffixes asked in order (default ["e164.arpa"]). */
  enumSuffixes?: string[];
  /** Send sip:/sips: URIs with user=phone through ENUM too (RFC 3261 section 19.1.6; default false). */
  enumForUserPhone?: boolean;
  /** A SIP URI template used when ENUM finds nothing, like "sip:{number}@gateway.example.com" ({number} = +E.164, {digits} = without "+"). */
  enumFallback?: string;
}

/** What the ENUM step turned an input into: the SIP URI to locate and what to report. */
export interface EnumOutcome {
  sipUri: string;
  info: EnumResult;
  trace?: TraceNode;
  /** DNS questions the ENUM step asked (to be taken from the locate's query budget). */
  queries: number;
}

/** Most suffixes a locator accepts. */
const MAX_SUFFIXES = 8;

function option(message: string, name: string): SipLocateError {
  return new SipLocateError('EINVALIDOPTION', message, { option: name });
}

/** The ENUM suffixes asked when the option is absent (RFC 6116's tree). */
export const DEFAULT_ENUM_SUFFIXES: readonly string[] = ['e164.arpa'];

function suffixesOption(value: unknown): string[] {
  if (value === undefined) return [...DEFAULT_ENUM_SUFFIXES];
  if (!Array.isArray(value))
    throw option(
      'The option enumSuffixes must be a list of domain names, like ["e164.carrier.example", "e164.arpa"].',
      'enumSuffixes',
    );
  const out: string[] = [];
  for (const v of value) {
    const s = String(v).trim().toLowerCase().replace(/\.$/, '');
    if (s.length === 0) continue;
    // A suffix leaves room for up to 15 reversed digits (30 characters) in a 253-character name.
    if (!isDomainName(s, 200))
      throw option(`"${String(v).slice(0, 40)}" is not a domain name an ENUM suffix can be.`, 'enumSuffixes');
    if (!out.includes(s)) out.push(s);
  }
  if (out.length > MAX_SUFFIXES)
    throw option(`The option enumSuffixes lists more than ${MAX_SUFFIXES} suffixes.`, 'enumSuffixes');
  return out.length > 0 ? out : [...DEFAULT_ENUM_SUFFIXES];
}

/** Fills a fallback template with a number. */
function fillTemplate(template: string, number: string): string {
  return template.replace(/\{number\}/g, number).replace(/\{digits\}/g, number.slice(1));
}

function fallbackOption(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  const bad = (): SipLocateError =>
    option(
      'The option enumFallback must be a sip: or sips: URI template like sip:{number}@gateway.example.com ({number} and {digits} are filled in), without spaces, quotes, angle brackets or a header part ("?").',
      'enumFallback',
    );
  if (typeof value !== 'string' || value.length > 512) throw bad();
  const template = value.trim();
  if (/\{(?!number\}|digits\})/.test(template)) throw bad();
  // The same rule as an ENUM result: what the template gives goes into a Request-URI as it is.
  if (strictSipUriProblem(fillTemplate(template, '+12025550101')) !== undefined) throw bad();
  return template;
}

/** True when a sip:/sips: URI carries the user=phone parameter. */
function userPhone(uri: string): string | undefined {
  const m = /^\s*(?:[^<]*<)?\s*sips?:([^@;>]*(?:;[^@>]*)?)@[^;>?]*((?:;[^;>?]*)*)/i.exec(uri);
  if (!m) return undefined;
  const params = m[2]!.split(';').map((p) => p.trim().toLowerCase());
  if (!params.includes('user=phone')) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1]!;
  }
}

/** The ENUM step before RFC 3263: which inputs take it, the look-up, the fallback and a bounded cache. */
export class EnumStep {
  private readonly suffixes: string[];
  private readonly forUserPhone: boolean;
  private readonly fallback: string | undefined;
  private readonly cache = new Map<string, { outcome: EnumOutcome; expiresAt: number }>();

  /** `cacheLimit` bounds the outcomes kept for cached() (the locator's cacheSize, like its plans). */
  constructor(
    o: EnumOptions,
    private readonly clock: Clock,
    private readonly cacheLimit: number,
  ) {
    this.suffixes = suffixesOption(o.enumSuffixes);
    if (o.enumForUserPhone !== undefined && typeof o.enumForUserPhone !== 'boolean')
      throw option('The option enumForUserPhone must be true or false.', 'enumForUserPhone');
    this.forUserPhone = o.enumForUserPhone === true;
    this.fallback = fallbackOption(o.enumFallback);
  }

  /** True when `uri` goes through ENUM: a tel: URI, or a user=phone SIP URI when enumForUserPhone is on. */
  handles(uri: unknown): uri is string {
    if (typeof uri !== 'string') return false;
    return isTelUri(uri) || (this.forUserPhone && userPhone(uri) !== undefined);
  }

  /** The number of an input handles() accepted; throws EINVALIDURI. */
  private numberOf(uri: string): { tel: TelNumber; sip: boolean } {
    if (isTelUri(uri)) return { tel: parseTelUri(uri), sip: false };
    const user = userPhone(uri)!;
    parseSipUri(uri);
    return { tel: parseTelephoneSubscriber(user, uri), sip: true };
  }

  /** The outcome for `uri` while its DNS data is fresh, else undefined. */
  cached(uri: string): EnumOutcome | undefined {
    const hit = this.cache.get(uri);
    return hit && hit.expiresAt > this.clock.now() ? hit.outcome : undefined;
  }

  /**
   * Runs ENUM for `uri`; falls back to enumFallback (or, for user=phone, the URI itself); throws ENOENUM, EINVALIDURI,
   * or the DNS failure (ETIMEOUT, ESERVFAIL, ...) when one kept every suffix from answering.
   */
  async resolve(uri: string, querier: DnsQuerier, trace: boolean, maxQueries = MAX_ENUM_QUERIES): Promise<EnumOutcome> {
    const { tel, sip } = this.numberOf(uri);
    const node: TraceNode | undefined = trace
      ? { kind: 'enum', name: `ENUM ${tel.number}`, note: `suffixes ${this.suffixes.join(', ')}`, children: [] }
      : undefined;
    // ENUM asks at most MAX_ENUM_QUERIES of the resolution's questions, whatever maxQueriesPerLocate allows.
    const found = await lookupEnum(querier, tel.number, this.suffixes, node, Math.min(maxQueries, MAX_ENUM_QUERIES));
    let outcome: EnumOutcome;
    if (found.match) {
      outcome = { sipUri: found.match.uri, info: { ...found.match }, queries: found.queries };
    } else if (this.fallback !== undefined) {
      const sipUri = fillTemplate(this.fallback, tel.number);
      node?.children.push({
        kind: 'note',
        name: 'fallback',
        note: `No usable ENUM record: enumFallback ${sipUri}.`,
        children: [],
      });
      outcome = { sipUri, info: { number: tel.number, uri: sipUri, fallback: true }, queries: found.queries };
    } else if (sip) {
      node?.children.push({
        kind: 'note',
        name: 'fallback',
        note: `No usable ENUM record: locating ${uri} itself.`,
        children: [],
      });
      outcome = { sipUri: uri, info: { number: tel.number, uri, fallback: true }, queries: found.queries };
    } else if (found.error) {
      throw found.error;
    } else {
      throw new SipLocateError(
        'ENOENUM',
        `No ENUM suffix gives a usable SIP URI for ${tel.number} (${found.reasons.join('; ').slice(0, 300)}); set enumFallback to route such numbers to a gateway.`,
        { number: tel.number, suffixes: this.suffixes },
      );
    }
    // A fallback taken because DNS failed is not kept: the next message asks again.
    const ttl = found.match ? found.ttl : found.error ? 0 : Math.min(found.ttl || NEGATIVE_ENUM_TTL, NEGATIVE_ENUM_TTL);
    this.remember(uri, outcome, ttl);
    if (node) outcome = { ...outcome, trace: node };
    return outcome;
  }

  private remember(uri: string, outcome: EnumOutcome, ttl: number): void {
    if (ttl <= 0 || this.cacheLimit === 0) return;
    this.cache.delete(uri);
    this.cache.set(uri, { outcome, expiresAt: this.clock.now() + ttl * 1000 });
    if (this.cache.size > this.cacheLimit) this.cache.delete(this.cache.keys().next().value as string);
  }

  /** Drops cached outcomes. */
  clear(): void {
    this.cache.clear();
  }
}

/** A located result for an ENUM input: the ENUM SIP URI as uri, the ENUM outcome, and the ENUM step as the first branch of the tree. */
export function withEnum(input: string, found: EnumOutcome, located: LocateResult): LocateResult {
  const out: LocateResult = { ...located, enum: { ...found.info } };
  if (found.trace && located.trace) out.trace = { kind: 'uri', name: input, children: [found.trace, located.trace] };
  return out;
}
