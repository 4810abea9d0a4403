/** The DNS look-ups one plan build makes: the question budget and trace (Recorder), and a host's A/AAAA from DNS or the OS. */
import { isIP } from 'node:net';
import { SipLocateError } from '../errors';
import type { DnsAnswer, DnsQuerier, DnsRecord, RecordType } from '../dns/types';
import type { FamilyPolicy, TraceNode, Transport } from '../types';
import type { SearchSettings } from '../system/search';
import { STATIC_NAMESERVER } from '../system/static-querier';
import { osLookup, systemAddresses, type AddressLookup, type SystemLookup } from '../system/lookup';
import { familiesWanted, MAX_ADDRESSES_PER_HOST, type HostAddresses } from './addresses';

/** What building a plan needs. */
export interface PlanContext {
  querier: DnsQuerier;
  /** Enabled transports in preference order. */
  transports: readonly Transport[];
  family: FamilyPolicy;
  naptrNoMatch: 'fail' | 'fallback';
  /** Build the trace tree. */
  trace: boolean;
  /** Most distinct DNS questions one resolution asks (default DEFAULT_MAX_QUERIES). */
  maxQueries?: number;
  /** The system's search list, applied to the URI host (absent: the host is used as written). */
  search?: SearchSettings;
  /** Where A/AAAA come from (default 'dns'). */
  addressLookup?: AddressLookup;
  /** The OS resolver (default dns.lookup). */
  systemLookup?: SystemLookup;
  /** Seconds addresses from the OS are used (default 30). */
  systemTtl?: number;
  /** Aborted when nobody waits for the plan any more: cancels its DNS work. */
  signal?: AbortSignal;
  /** Random source in [0,1) for the RFC 2782 draw that picks which SRV hosts are looked up (default Math.random). */
  random?: () => number;
}

/** Default of maxQueriesPerLocate: distinct DNS questions one resolution may ask. */
export const DEFAULT_MAX_QUERIES = 64;
/** Answers that say DNS has nothing here. */
export const NEGATIVE: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA']);
/** Longest a plan built on a negative answer is reused, seconds. */
const NEGATIVE_PLAN_TTL = 30;
/**
 * How long the other family's addresses may still take once the preferred family's are in, ms (RFC 8305 section 3
 * suggests 50 ms). A plan built without them is not cached, so the next locate has both.
 */
export const FAMILY_WAIT_MS = 50;

/** Collects the smallest TTL and the trace while a plan is built, and counts the questions against the budget. */
export class Recorder {
  ttl = Number.POSITIVE_INFINITY;
  /** Distinct questions asked so far ("TYPE name"). */
  private readonly asked = new Set<string>();
  /** True once a question was refused because the budget was spent. */
  exhausted = false;
  /** Some answer was expired data served under RFC 8767. */
  stale = false;
  /** Copies of questions hedged to a second nameserver; they count against the budget too. */
  private hedges = 0;
  constructor(
    readonly tracing: boolean,
    readonly budget: number,
  ) {}

  /** True when one more copy may be hedged to a second nameserver within the budget (and counts it). */
  hedge(): boolean {
    if (this.asked.size + this.hedges >= this.budget) return false;
    this.hedges++;
    return true;
  }

  /** True when the question (a DNS type, or 'OS' for the operating system's resolver) may be asked: already asked, or still within the budget. */
  take(name: string, type: RecordType | 'OS'): boolean {
    const key = `${type} ${name}`;
    if (this.asked.has(key)) return true;
    if (this.asked.size + this.hedges >= this.budget) {
      this.exhausted = true;
      return false;
    }
    this.asked.add(key);
    return true;
  }

  /** How many distinct questions were asked. */
  get questions(): number {
    return this.asked.size;
  }

  node(
    kind: TraceNode['kind'],
    name: string,
    parent: TraceNode | undefined,
    extra: Partial<TraceNode> = {},
  ): TraceNode | undefined {
    if (!this.tracing) return undefined;
    const n: TraceNode = { kind, name, children: [], ...extra };
    parent?.children.push(n);
    return n;
  }

  note(parent: TraceNode | undefined, text: string): void {
    if (parent) parent.children.push({ kind: 'note', name: text, note: text, children: [] });
  }

  seen(ttl: number): void {
    if (ttl < this.ttl) this.ttl = ttl;
  }
}

/** Asks one question; negative answers and DNS failures come back as `error`, closing/cancelling is rethrown. */
export async function ask<T extends RecordType>(
  ctx: PlanContext,
  rec: Recorder,
  name: string,
  type: T,
  parent: TraceNode | undefined,
  kind: TraceNode['kind'],
): Promise<{ answer?: DnsAnswer<T>; error?: SipLocateError; node?: TraceNode }> {
  if (!rec.take(name, type)) {
    const error = new SipLocateError(
      'EBUDGET',
      `The look-up of ${type} ${name} was not sent: this resolution already asked ${rec.budget} DNS questions (maxQueriesPerLocate).`,
      { name, type, budget: rec.budget },
    );
    return {
      error,
      node: rec.node(kind, name, parent, { type, outcome: 'skipped', code: error.code, note: error.message }),
    };
  }
  try {
    const mayHedge = (): boolean => rec.hedge();
    const answer = await ctx.querier.query(name, type, ctx.signal ? { signal: ctx.signal, mayHedge } : { mayHedge });
    rec.seen(answer.ttl);
    if (answer.stale) rec.stale = true;
    const outcome =
      answer.nameserver === STATIC_NAMESERVER
        ? 'static'
        : answer.stale
          ? 'stale'
          : answer.fromCache
            ? 'cache'
            : 'network';
    const node = rec.node(kind, name, parent, { type, outcome, records: answer.records });
    return { answer, node };
  } catch (err) {
    const error =
      err instanceof SipLocateError
        ? err
        : new SipLocateError('EBADRESP', `The look-up of ${type} ${name} failed.`, { name, type }, { cause: err });
    if (error.code === 'ECLOSED' || error.code === 'ECANCELLED') throw error;
    if (NEGATIVE.has(error.code)) rec.seen(NEGATIVE_PLAN_TTL);
    const node = rec.node(kind, name, parent, { type, outcome: 'error', code: error.code, note: error.message });
    return { error, node };
  }
}

/** True for outcomes that mean "DNS has nothing here": NXDOMAIN, NODATA, and no nameserver when the OS may answer. */
export function isNegative(ctx: PlanContext, code: string): boolean {
  return NEGATIVE.has(code) || (code === 'ENONAMESERVER' && (ctx.addressLookup ?? 'dns') !== 'dns');
}

/** A/AAAA of a host from DNS and/or the OS as ctx.addressLookup says; names the excluded family when only that one exists. */
export async function resolveHost(
  ctx: PlanContext,
  rec: Recorder,
  host: string,
  parent: TraceNode | undefined,
): Promise<HostAddresses> {
  const kind = isIP(host);
  if (kind === 4) return { v4: [host], v6: [], ttl: Number.POSITIVE_INFINITY };
  if (kind === 6) return { v4: [], v6: [host.toLowerCase()], ttl: Number.POSITIVE_INFINITY };
  const mode = ctx.addressLookup ?? 'dns';
  if (mode === 'system') return fromSystem(ctx, rec, host, parent);
  const out = await dnsAddresses(ctx, rec, host, parent);
  if (hasAddresses(out) || out.error !== undefined) return out;
  if (mode === 'dns-then-system') {
    const sys = await fromSystem(ctx, rec, host, parent);
    if (hasAddresses(sys)) return sys;
  }
  if (ctx.family === 'ipv4' || ctx.family === 'ipv6') {
    const other = ctx.family === 'ipv4' ? 'AAAA' : 'A';
    const probe = await ask(ctx, rec, host, other, parent, 'address');
    if (probe.answer) out.excluded = ctx.family === 'ipv4' ? 6 : 4;
  }
  return out;
}

/** The addresses the OS resolver knows for host, valid for ctx.systemTtl seconds. */
async function fromSystem(
  ctx: PlanContext,
  rec: Recorder,
  host: string,
  parent: TraceNode | undefined,
): Promise<HostAddresses> {
  const ttl = ctx.systemTtl ?? 30;
  if (!rec.take(host, 'OS')) {
    rec.node('address', host, parent, {
      outcome: 'skipped',
      code: 'EBUDGET',
      note: `The operating system was not asked for ${host}: this resolution already asked ${rec.budget} questions (maxQueriesPerLocate).`,
    });
    return { v4: [], v6: [], ttl, error: 'EBUDGET' };
  }
  const found = await systemAddresses(ctx.systemLookup ?? osLookup, host, ctx.family, MAX_ADDRESSES_PER_HOST);
  const records: DnsRecord[] = [
    ...found.v4.map((data): DnsRecord => ({ name: host, type: 'A', ttl, data })),
    ...found.v6.map((data): DnsRecord => ({ name: host, type: 'AAAA', ttl, data })),
  ];
  const note =
    records.length > 0
      ? 'from the operating system (hosts file, mDNS, nsswitch)'
      : `the operating system has no address${found.failure ? ` (${found.failure})` : ''}`;
  rec.node('address', host, parent, { outcome: 'system', records, note });
  rec.seen(ttl);
  return { v4: found.v4, v6: found.v6, ttl, system: true };
}

/** A/AAAA of a host from DNS; uses one cached family without waiting for the other. */
async function dnsAddresses(
  ctx: PlanContext,
  rec: Recorder,
  host: string,
  parent: TraceNode | undefined,
): Promise<HostAddresses> {
  const want = familiesWanted(ctx.family);
  let askV4 = want.v4;
  let askV6 = want.v6;
  if (askV4 && askV6 && !rec.tracing) {
    const c4 = ctx.querier.peek(host, 'A');
    const c6 = ctx.querier.peek(host, 'AAAA');
    const hit4 = c4 !== undefined && !(c4 instanceof SipLocateError);
    const hit6 = c6 !== undefined && !(c6 instanceof SipLocateError);
    if (hit4 && c6 === undefined) {
      askV6 = false;
      if (rec.take(host, 'AAAA')) ctx.querier.query(host, 'AAAA').catch(() => undefined);
    } else if (hit6 && c4 === undefined) {
      askV4 = false;
      if (rec.take(host, 'A')) ctx.querier.query(host, 'A').catch(() => undefined);
    }
  }
  const askA = askV4 ? ask(ctx, rec, host, 'A', parent, 'address') : undefined;
  const askAAAA = askV6 ? ask(ctx, rec, host, 'AAAA', parent, 'address') : undefined;
  const [a, aaaa] =
    askA && askAAAA && !rec.tracing
      ? await preferredFamilyFirst(ctx.family === 'ipv6-first', askA, askAAAA, rec)
      : await Promise.all([askA, askAAAA]);
  const out: HostAddresses = { v4: [], v6: [], ttl: Number.POSITIVE_INFINITY };
  for (const r of [a, aaaa]) {
    if (!r) continue;
    if (r.answer) {
      out.ttl = Math.min(out.ttl, r.answer.ttl);
      const list = r.answer.records.map((x) => x.data).slice(0, MAX_ADDRESSES_PER_HOST);
      if (r.answer.type === 'A') out.v4 = list;
      else out.v6 = list;
    } else if (r.error && !isNegative(ctx, r.error.code)) {
      out.error = r.error.code;
    }
  }
  return out;
}

/** A and AAAA asked together, the preferred family first (see firstThenWait()). */
async function preferredFamilyFirst<A, AAAA>(
  v6First: boolean,
  askA: Promise<A & { answer?: unknown }>,
  askAAAA: Promise<AAAA & { answer?: unknown }>,
  rec: Recorder,
): Promise<[A | undefined, AAAA | undefined]> {
  if (!v6First) return firstThenWait(askA, askAAAA, rec);
  const [aaaa, a] = await firstThenWait(askAAAA, askA, rec);
  return [a, aaaa];
}

/**
 * Once the preferred family has addresses, the other gets FAMILY_WAIT_MS more (RFC 8305 style); if it is still out,
 * the plan goes on without it and is not cached (its look-up goes on and fills the DNS cache for the next locate).
 */
async function firstThenWait<P extends { answer?: unknown }, O>(
  preferred: Promise<P>,
  other: Promise<O>,
  rec: Recorder,
): Promise<[P, O | undefined]> {
  const first = await preferred;
  if (!first.answer) return [first, await other];
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), FAMILY_WAIT_MS);
  });
  const second = await Promise.race([other, late]);
  clearTimeout(timer);
  if (second === undefined) {
    other.catch(() => undefined); // closed or cancelled later: nobody waits for it any more
    rec.seen(0);
  }
  return [first, second];
}

export function hasAddresses(a: HostAddresses): boolean {
  return a.v4.length + a.v6.length > 0;
}
