import type { DnsQuerier, NaptrData } from '../dns/types';
import { SipLocateError } from '../errors';
import type { TraceNode } from '../types';
import { strictSipUriProblem } from '../uri';
import { classifyEnumNaptr, orderEnumNaptrs } from './naptr';
import { applyRegexp, type RegexpOutcome } from './regexp';
import { enumDomain } from './tel';

/** Most DNS questions one ENUM look-up asks, over all suffixes and non-terminal rules. */
export const MAX_ENUM_QUERIES = 16;
/** Most non-terminal rules followed in a row from one suffix. */
export const MAX_ENUM_CHAIN = 5;
/** Most regexps one look-up evaluates (compiles or takes from the cache, and matches); the rest are skipped. */
export const MAX_ENUM_REGEXPS = 20;
/**
 * Most milliseconds one look-up spends evaluating regexps; the rest are skipped. Each evaluation is short (the size
 * bound in regexp.ts) and the event loop runs between records; this caps the total, with room for a cold start on a
 * loaded machine so an honest answer of a few small rules is never cut.
 */
export const ENUM_REGEXP_MS = 250;
/** Seconds a look-up that found nothing is reused. */
export const NEGATIVE_ENUM_TTL = 30;

/** A usable ENUM answer: the SIP URI and the record it came from. */
export interface EnumMatch {
  number: string;
  /** The ENUM domain whose NAPTR record gave the URI. */
  domain: string;
  uri: string;
  order: number;
  preference: number;
}

/** The outcome of a look-up: the match (if any), the smallest TTL seen and the questions asked. */
export interface EnumLookup {
  match?: EnumMatch;
  ttl: number;
  queries: number;
  /** Why nothing matched, one sentence per suffix, for ENOENUM. */
  reasons: string[];
  /** The first DNS failure that was not a negative answer (timeout, SERVFAIL, ...), if any. */
  error?: SipLocateError;
}

const NEGATIVE: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA']);

/** One look-up's state: the querier, the budget and the trace. */
class Walk {
  queries = 0;
  ttl = Number.POSITIVE_INFINITY;
  error: SipLocateError | undefined;
  /** Regexps evaluated and the milliseconds they took, against MAX_ENUM_REGEXPS and ENUM_REGEXP_MS. */
  regexps = 0;
  regexpMs = 0;
  constructor(
    readonly querier: DnsQuerier,
    readonly number: string,
    readonly maxQueries: number,
  ) {}

  /** Applies a record's regexp within the look-up's regexp budget, then lets the event loop run before the next record. */
  async regexp(field: string): Promise<RegexpOutcome> {
    if (this.regexps >= MAX_ENUM_REGEXPS || this.regexpMs >= ENUM_REGEXP_MS) {
      return {
        ok: false,
        why: `the ENUM regexp budget of ${MAX_ENUM_REGEXPS} regexps or ${ENUM_REGEXP_MS} ms is spent`,
      };
    }
    this.regexps++;
    const start = performance.now();
    const out = applyRegexp(field, this.number);
    this.regexpMs += performance.now() - start;
    await new Promise<void>((resolve) => setImmediate(resolve));
    return out;
  }

  note(parent: TraceNode | undefined, text: string): void {
    parent?.children.push({ kind: 'note', name: text, note: text, children: [] });
  }

  /** NAPTR records of `name` or the sentence why there are none; closing and cancelling are rethrown. */
  async naptr(
    name: string,
    parent: TraceNode | undefined,
  ): Promise<{ records: NaptrData[]; node?: TraceNode } | { why: string }> {
    if (this.queries >= this.maxQueries) {
      const why = `the ENUM query budget of ${this.maxQueries} questions is spent`;
      this.note(parent, `Not asking NAPTR ${name}: ${why}.`);
      return { why };
    }
    this.queries++;
    try {
      const answer = await this.querier.query(name, 'NAPTR');
      this.ttl = Math.min(this.ttl, answer.ttl);
      const node: TraceNode | undefined = parent
        ? {
            kind: 'naptr',
            name,
            type: 'NAPTR',
            outcome: answer.fromCache ? 'cache' : 'network',
            records: answer.records,
            children: [],
          }
        : undefined;
      if (node) parent!.children.push(node);
      return { records: answer.records.map((r) => r.data), node };
    } catch (err) {
      const error =
        err instanceof SipLocateError
          ? err
          : new SipLocateError('EBADRESP', `The look-up of NAPTR ${name} failed.`, { name }, { cause: err });
      if (error.code === 'ECLOSED' || error.code === 'ECANCELLED') throw error;
      if (NEGATIVE.has(error.code)) this.ttl = Math.min(this.ttl, NEGATIVE_ENUM_TTL);
      else this.error ??= error;
      parent?.children.push({
        kind: 'naptr',
        name,
        type: 'NAPTR',
        outcome: 'error',
        code: error.code,
        note: error.message,
        children: [],
      });
      return { why: `NAPTR ${name}: ${error.code}` };
    }
  }

  /** Follows the rules at `name`, first usable one first; `seen` holds the names already visited from this suffix. */
  async follow(
    name: string,
    seen: Set<string>,
    depth: number,
    parent: TraceNode | undefined,
  ): Promise<EnumMatch | string> {
    if (seen.has(name)) {
      this.note(parent, `${name} was visited already: the non-terminal rules loop; stopped.`);
      return `the non-terminal rules loop at ${name}`;
    }
    seen.add(name);
    const got = await this.naptr(name, parent);
    if ('why' in got) return got.why;
    let why = `no NAPTR record of ${name} is a usable E2U+sip rule`;
    for (const record of orderEnumNaptrs(got.records)) {
      const rule = classifyEnumNaptr(record);
      const label = `NAPTR ${record.order} ${record.preference} "${record.flags}" "${record.services}" "${record.regexp}" ${record.replacement}`;
      if (rule.kind === 'skip') {
        this.note(got.node, `Skipped ${label}: ${rule.why}.`);
        continue;
      }
      if (rule.kind === 'terminal') {
        const out = await this.regexp(record.regexp);
        if (!out.ok) {
          this.note(got.node, `Skipped ${label}: ${out.why}.`);
          continue;
        }
        const uriWhy = strictSipUriProblem(out.result);
        if (uriWhy !== undefined) {
          this.note(got.node, `Skipped ${label}: the result ${JSON.stringify(out.result.slice(0, 80))} ${uriWhy}.`);
          continue;
        }
        this.note(got.node, `${label} gives ${out.result}.`);
        return {
          number: this.number,
          domain: name,
          uri: out.result,
          order: record.order,
          preference: record.preference,
        };
      }
      if (depth >= MAX_ENUM_CHAIN) {
        this.note(got.node, `Skipped ${label}: more than ${MAX_ENUM_CHAIN} non-terminal rules in a row.`);
        why = `more than ${MAX_ENUM_CHAIN} non-terminal rules in a row`;
        continue;
      }
      const next = await this.nextDomain(record);
      if (typeof next !== 'string') {
        this.note(got.node, `Skipped ${label}: ${next.why}.`);
        continue;
      }
      this.note(got.node, `${label} is non-terminal: NAPTR ${next}.`);
      const found = await this.follow(next, seen, depth + 1, got.node);
      if (typeof found !== 'string') return found;
      why = found;
    }
    return why;
  }

  /** The domain a non-terminal rule leads to: its replacement, or its regexp applied to the number. */
  async nextDomain(record: NaptrData): Promise<string | { why: string }> {
    let next = record.replacement;
    if (record.regexp.length > 0) {
      const out = await this.regexp(record.regexp);
      if (!out.ok) return { why: out.why };
      next = out.result;
    }
    next = next.toLowerCase().replace(/\.$/, '');
    if (!isDomainName(next)) return { why: `"${next.slice(0, 80)}" is not a domain name` };
    return next;
  }
}

const DOMAIN_RE =
  /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** True for a lower-case domain name (labels of letters, digits, "-" and "_", no trailing dot) of at most `max` characters. */
export function isDomainName(text: string, max = 253): boolean {
  return text.length <= max && DOMAIN_RE.test(text);
}

/**
 * RFC 6116 section 3: asks NAPTR of the number's ENUM domain under each suffix in turn and returns the first
 * usable SIP URI, following non-terminal rules (loops and chains bounded) within a query budget.
 */
export async function lookupEnum(
  querier: DnsQuerier,
  number: string,
  suffixes: readonly string[],
  parent: TraceNode | undefined,
  maxQueries = MAX_ENUM_QUERIES,
): Promise<EnumLookup> {
  const walk = new Walk(querier, number, maxQueries);
  const reasons: string[] = [];
  for (const suffix of suffixes) {
    const found = await walk.follow(enumDomain(number, suffix), new Set(), 0, parent);
    const ttl = Number.isFinite(walk.ttl) ? walk.ttl : 0;
    if (typeof found !== 'string') return { match: found, ttl, queries: walk.queries, reasons };
    reasons.push(`${suffix}: ${found}`);
  }
  const out: EnumLookup = { ttl: Number.isFinite(walk.ttl) ? walk.ttl : 0, queries: walk.queries, reasons };
  if (walk.error) out.error = walk.error;
  return out;
}
