import { isIP } from 'node:net';
import { SipLocateError, type ErrorCode } from '../errors';
import type { DnsAnswer, DnsQuerier, DnsRecord, RecordType, SrvData } from '../dns/types';
import type { FamilyPolicy, SipUri, TraceNode, Transport } from '../types';
import { targetHost } from '../uri';
import { searchCandidates, type SearchSettings } from '../system/search';
import { STATIC_NAMESERVER } from '../system/static-querier';
import { osLookup, systemAddresses, type AddressLookup, type SystemLookup } from '../system/lookup';
import { familiesWanted, MAX_ADDRESSES_PER_HOST, type HostAddresses } from './addresses';
import { groupByOrder, isSipNaptr, usableNaptrs } from './naptr';
import type { Plan, PlanEntry } from './plan';
import { isServiceRefused, MAX_SRV } from './srv';
import { defaultPort, transportInfo } from './transports';

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
}

/** Default of maxQueriesPerLocate: distinct DNS questions one resolution may ask. */
export const DEFAULT_MAX_QUERIES = 64;
/** Most distinct SRV target hosts whose addresses are looked up per SRV RRset (lowest priority first). */
export const MAX_SRV_HOSTS_FOLLOWED = 16;
/** Most NAPTR records followed per order. */
export const MAX_NAPTR_FOLLOWED = 16;

/** A plan and, when asked for, the resolution tree. */
export interface PlanResult {
  plan: Plan;
  trace?: TraceNode;
}

const NEGATIVE: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA']);
/** Longest a plan built on a negative answer is reused, seconds. */
const NEGATIVE_PLAN_TTL = 30;
/**
 * How long the other family's addresses may still take once the preferred family's are in, ms (RFC 8305 section 3
 * suggests 50 ms). A plan built without them is not cached, so the next locate has both.
 */
export const FAMILY_WAIT_MS = 50;

/** Collects the smallest TTL and the trace while a plan is built, and counts the questions against the budget. */
class Recorder {
  ttl = Number.POSITIVE_INFINITY;
  /** Distinct questions asked so far ("TYPE name"). */
  private readonly asked = new Set<string>();
  /** True once a question was refused because the budget was spent. */
  exhausted = false;
  /** Some answer was expired data served under RFC 8767. */
  stale = false;
  /** Copies of questions hedged to a second nameserver; they count against the budget too. */
  private hedges = 0;
  constructor(readonly tracing: boolean, readonly budget: number) {}

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

  node(kind: TraceNode['kind'], name: string, parent: TraceNode | undefined, extra: Partial<TraceNode> = {}): TraceNode | undefined {
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
async function ask<T extends RecordType>(ctx: PlanContext, rec: Recorder, name: string, type: T, parent: TraceNode | undefined, kind: TraceNode['kind']): Promise<{ answer?: DnsAnswer<T>; error?: SipLocateError; node?: TraceNode }> {
  if (!rec.take(name, type)) {
    const error = new SipLocateError('EBUDGET', `The look-up of ${type} ${name} was not sent: this resolution already asked ${rec.budget} DNS questions (maxQueriesPerLocate).`, { name, type, budget: rec.budget });
    return { error, node: rec.node(kind, name, parent, { type, outcome: 'skipped', code: error.code, note: error.message }) };
  }
  try {
    const mayHedge = (): boolean => rec.hedge();
    const answer = await ctx.querier.query(name, type, ctx.signal ? { signal: ctx.signal, mayHedge } : { mayHedge });
    rec.seen(answer.ttl);
    if (answer.stale) rec.stale = true;
    const outcome = answer.nameserver === STATIC_NAMESERVER ? 'static' : answer.stale ? 'stale' : answer.fromCache ? 'cache' : 'network';
    const node = rec.node(kind, name, parent, { type, outcome, records: answer.records });
    return { answer, node };
  } catch (err) {
    const error = err instanceof SipLocateError ? err : new SipLocateError('EBADRESP', `The look-up of ${type} ${name} failed.`, { name, type }, { cause: err });
    if (error.code === 'ECLOSED' || error.code === 'ECANCELLED') throw error;
    if (NEGATIVE.has(error.code)) rec.seen(NEGATIVE_PLAN_TTL);
    const node = rec.node(kind, name, parent, { type, outcome: 'error', code: error.code, note: error.message });
    return { error, node };
  }
}

/** True for outcomes that mean "DNS has nothing here": NXDOMAIN, NODATA, and no nameserver when the OS may answer. */
function isNegative(ctx: PlanContext, code: string): boolean {
  return NEGATIVE.has(code) || (code === 'ENONAMESERVER' && (ctx.addressLookup ?? 'dns') !== 'dns');
}

/** A/AAAA of a host from DNS and/or the OS as ctx.addressLookup says; names the excluded family when only that one exists. */
async function resolveHost(ctx: PlanContext, rec: Recorder, host: string, parent: TraceNode | undefined): Promise<HostAddresses> {
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
async function fromSystem(ctx: PlanContext, rec: Recorder, host: string, parent: TraceNode | undefined): Promise<HostAddresses> {
  const ttl = ctx.systemTtl ?? 30;
  if (!rec.take(host, 'OS')) {
    rec.node('address', host, parent, { outcome: 'skipped', code: 'EBUDGET', note: `The operating system was not asked for ${host}: this resolution already asked ${rec.budget} questions (maxQueriesPerLocate).` });
    return { v4: [], v6: [], ttl, error: 'EBUDGET' };
  }
  const found = await systemAddresses(ctx.systemLookup ?? osLookup, host, ctx.family, MAX_ADDRESSES_PER_HOST);
  const records: DnsRecord[] = [
    ...found.v4.map((data): DnsRecord => ({ name: host, type: 'A', ttl, data })),
    ...found.v6.map((data): DnsRecord => ({ name: host, type: 'AAAA', ttl, data })),
  ];
  const note = records.length > 0 ? 'from the operating system (hosts file, mDNS, nsswitch)' : `the operating system has no address${found.failure ? ` (${found.failure})` : ''}`;
  rec.node('address', host, parent, { outcome: 'system', records, note });
  rec.seen(ttl);
  return { v4: found.v4, v6: found.v6, ttl, system: true };
}

/** A/AAAA of a host from DNS; uses one cached family without waiting for the other. */
async function dnsAddresses(ctx: PlanContext, rec: Recorder, host: string, parent: TraceNode | undefined): Promise<HostAddresses> {
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
  const [a, aaaa] = askA && askAAAA && !rec.tracing ? await preferredFamilyFirst(ctx.family === 'ipv6-first', askA, askAAAA, rec) : await Promise.all([askA, askAAAA]);
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
async function preferredFamilyFirst<A, AAAA>(v6First: boolean, askA: Promise<A & { answer?: unknown }>, askAAAA: Promise<AAAA & { answer?: unknown }>, rec: Recorder): Promise<[A | undefined, AAAA | undefined]> {
  if (!v6First) return firstThenWait(askA, askAAAA, rec);
  const [aaaa, a] = await firstThenWait(askAAAA, askA, rec);
  return [a, aaaa];
}

/**
 * Once the preferred family has addresses, the other gets FAMILY_WAIT_MS more (RFC 8305 style); if it is still out,
 * the plan goes on without it and is not cached (its look-up goes on and fills the DNS cache for the next locate).
 */
async function firstThenWait<P extends { answer?: unknown }, O>(preferred: Promise<P>, other: Promise<O>, rec: Recorder): Promise<[P, O | undefined]> {
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

function hasAddresses(a: HostAddresses): boolean {
  return a.v4.length + a.v6.length > 0;
}

/** How following one SRV name ended. */
type SrvOutcome =
  | { state: 'found'; entry: PlanEntry }
  | { state: 'empty'; error: SipLocateError }
  | { state: 'refused' }
  | { state: 'noaddress'; why: NoAddressWhy };

/** Why hosts have no usable address: a failed look-up's code, or the family the policy excluded. */
interface NoAddressWhy {
  error?: string;
  excluded?: 4 | 6;
}

/** Combines the reasons of several hosts: a failed look-up (SERVFAIL, timeout) wins, then an excluded family shared by all. */
function whyNone(list: readonly NoAddressWhy[]): NoAddressWhy {
  const error = list.find((h) => h.error !== undefined)?.error;
  if (error !== undefined) return { error };
  const excluded = list[0]?.excluded;
  return excluded !== undefined && list.every((h) => h.excluded === excluded) ? { excluded } : {};
}

/** SRV look-up of `name` and the addresses of its targets. */
async function followSrv(ctx: PlanContext, rec: Recorder, name: string, transport: Transport, source: 'naptr' | 'srv', parent: TraceNode | undefined): Promise<SrvOutcome> {
  const { answer, error, node } = await ask(ctx, rec, name, 'SRV', parent, 'srv');
  if (!answer) return { state: 'empty', error: error! };
  const records: SrvData[] = answer.records.slice(0, MAX_SRV).map((r) => r.data);
  if (isServiceRefused(records)) {
    rec.note(node, `SRV target "." at ${name}: the service is decidedly not available (RFC 2782).`);
    return { state: 'refused' };
  }
  const portZero = records.filter((r) => r.target !== '.' && r.port === 0);
  for (const r of portZero) rec.note(node, `Skipped SRV ${r.priority} ${r.weight} 0 ${r.target}: port 0 cannot be used.`);
  const byPriority = records.filter((r) => r.target !== '.' && r.port !== 0).sort((x, y) => x.priority - y.priority);
  if (byPriority.length === 0) return { state: 'noaddress', why: {} };
  const allTargets = [...new Set(byPriority.map((r) => r.target))];
  const targets = allTargets.slice(0, MAX_SRV_HOSTS_FOLLOWED);
  if (allTargets.length > targets.length) rec.note(node, `${name} names ${allTargets.length} target hosts; the addresses of the first ${MAX_SRV_HOSTS_FOLLOWED} by priority are looked up.`);
  const hosts = new Map<string, HostAddresses>();
  await Promise.all(targets.map(async (t) => hosts.set(t, await resolveHost(ctx, rec, t, node))));
  const live = [...hosts.values()].filter(hasAddresses);
  if (live.length === 0) {
    rec.note(node, `No SRV target of ${name} has an address.`);
    return { state: 'noaddress', why: whyNone([...hosts.values()]) };
  }
  return { state: 'found', entry: { kind: 'srv', transport, source, srv: records.filter((r) => r.port !== 0), hosts } };
}

function fail(code: ErrorCode, message: string, details: Record<string, unknown> = {}): never {
  throw new SipLocateError(code, message, details);
}

/** The transport a transport= parameter selects (sips: upgrades tcp to tls and ws to wss). */
function forcedTransport(uri: SipUri, enabled: readonly Transport[]): Transport | undefined {
  if (uri.transport === undefined) return undefined;
  let t = uri.transport;
  if (uri.scheme === 'sips') {
    if (t === 'tcp' || t === 'tls') t = 'tls';
    else if (t === 'ws' || t === 'wss') t = 'wss';
    else fail('ENOTRANSPORT', `A sips: URI cannot use transport=${uri.transport}; it needs TLS or WSS.`, { transport: uri.transport });
  }
  if (!['udp', 'tcp', 'tls', 'sctp', 'ws', 'wss'].includes(t)) {
    fail('ENOTRANSPORT', `The transport "${uri.transport}" in the URI is not one this package supports (udp, tcp, tls, sctp, ws, wss).`, { transport: uri.transport });
  }
  if (!enabled.includes(t as Transport)) {
    fail('ENOTRANSPORT', `The URI asks for transport ${t}, which is not enabled (enabled: ${enabled.join(', ') || 'none'}).`, { transport: t });
  }
  return t as Transport;
}

/** The transport used without NAPTR/SRV: UDP for sip:, TLS for sips: (or the first enabled one that fits). */
function plainTransport(scheme: 'sip' | 'sips', enabled: readonly Transport[]): Transport {
  const preferred: Transport = scheme === 'sips' ? 'tls' : 'udp';
  if (enabled.includes(preferred)) return preferred;
  const fallback = enabled.find((t) => scheme === 'sip' || transportInfo(t).secure);
  if (!fallback) fail('ENOTRANSPORT', `No enabled transport can carry a ${scheme}: URI.`);
  return fallback;
}

function finish(rec: Recorder, entries: PlanEntry[], trace: TraceNode | undefined): PlanResult {
  const ttl = Number.isFinite(rec.ttl) ? rec.ttl : 0;
  const plan: Plan = rec.stale ? { entries, ttl, stale: true } : { entries, ttl };
  return trace ? { plan, trace } : { plan };
}

/** RFC 3263 sections 4.1 and 4.2: turns a URI into a plan of transports, SRV sets and addresses, asking at most ctx.maxQueries questions. */
export async function buildPlan(uri: SipUri, ctx: PlanContext): Promise<PlanResult> {
  const rec = new Recorder(ctx.trace, ctx.maxQueries ?? DEFAULT_MAX_QUERIES);
  let result: PlanResult;
  try {
    result = await searchPlan(uri, ctx, rec);
  } catch (err) {
    if (rec.exhausted && err instanceof SipLocateError && err.code !== 'ECLOSED' && err.code !== 'ECANCELLED') {
      fail('EBUDGET', `Locating ${uri.host} needed more than ${rec.budget} DNS questions and found no target within them (maxQueriesPerLocate).`, { host: uri.host, budget: rec.budget });
    }
    throw err;
  }
  if (rec.exhausted) rec.note(result.trace, `Stopped after ${rec.budget} DNS questions (maxQueriesPerLocate): these are the targets found so far.`);
  return result;
}

/** Errors after which the next name of the search list is tried (glibc goes on after NXDOMAIN, NODATA, SERVFAIL and REFUSED). */
const TRY_NEXT_NAME: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA', 'ESERVFAIL', 'EREFUSED', 'ETIMEOUT']);

function uriLabel(uri: SipUri): string {
  return `${uri.scheme}:${uri.host}${uri.absolute ? '.' : ''}${uri.port ? ':' + uri.port : ''}${uri.transport ? ';transport=' + uri.transport : ''}${uri.maddr ? ';maddr=' + uri.maddr : ''}`;
}

/** Applies the search list to the URI host: each candidate name is located in turn until one resolves. */
async function searchPlan(uri: SipUri, ctx: PlanContext, rec: Recorder): Promise<PlanResult> {
  const names = uri.hostKind === 0 && uri.maddr === undefined ? searchCandidates(uri.host, uri.absolute === true, ctx.search) : [uri.host];
  if (names.length === 1) return planFor({ ...uri, host: names[0]! }, ctx, rec, undefined);
  const top = rec.node('uri', uriLabel(uri), undefined);
  rec.note(top, `Search list (ndots ${ctx.search!.ndots}): trying ${names.join(', ')}.`);
  let firstHard: SipLocateError | undefined;
  for (const name of names) {
    try {
      const result = await planFor({ ...uri, host: name }, ctx, rec, top);
      rec.note(top, `Matched ${name}.`);
      return top ? { plan: result.plan, trace: top } : result;
    } catch (err) {
      if (!(err instanceof SipLocateError) || !TRY_NEXT_NAME.has(err.code) || rec.exhausted) throw err;
      if (!NEGATIVE.has(err.code)) firstHard ??= err;
      rec.note(top, `${name}: ${err.code}; trying the next name.`);
    }
  }
  if (firstHard) throw firstHard;
  fail('ENOTFOUND', `No name of the search list has NAPTR, SRV or address records for SIP (tried ${names.join(', ')}).`, { host: uri.host, tried: names });
}

async function planFor(uri: SipUri, ctx: PlanContext, rec: Recorder, parent: TraceNode | undefined): Promise<PlanResult> {
  const root = rec.node('uri', uriLabel(uri), parent);
  const { host, hostKind } = targetHost(uri);
  const enabled = ctx.transports.filter((t) => uri.scheme === 'sip' || transportInfo(t).secure);
  if (enabled.length === 0 && uri.scheme === 'sips') fail('ENOTRANSPORT', `A sips: URI needs TLS (transport tls or wss), and neither is enabled (enabled: ${ctx.transports.join(', ') || 'none'}).`);
  if (enabled.length === 0) fail('ENOTRANSPORT', `No enabled transport can carry a ${uri.scheme}: URI (enabled: ${ctx.transports.join(', ') || 'none'}).`);
  const forced = forcedTransport(uri, enabled);

  if (hostKind !== 0) {
    const t = forced ?? plainTransport(uri.scheme, enabled);
    rec.node('numeric', host, root, { note: `IP address: no DNS; ${t} port ${uri.port ?? defaultPort(t)}.` });
    const addrs: HostAddresses = hostKind === 4 ? { v4: [host], v6: [], ttl: 0 } : { v4: [], v6: [host], ttl: 0 };
    if (ctx.family === 'ipv4' && hostKind === 6) fail('ENOADDRESS', `${host} is an IPv6 address but the family policy is ipv4.`, { host });
    if (ctx.family === 'ipv6' && hostKind === 4) fail('ENOADDRESS', `${host} is an IPv4 address but the family policy is ipv6.`, { host });
    return finish(rec, [{ kind: 'address', transport: t, source: 'numeric', host, port: uri.port ?? defaultPort(t), addrs }], root);
  }

  if (uri.port !== undefined) {
    const t = forced ?? plainTransport(uri.scheme, enabled);
    rec.note(root, `Explicit port ${uri.port}: A/AAAA only, transport ${t}.`);
    const addrs = await resolveHost(ctx, rec, host, root);
    if (!hasAddresses(addrs)) return noAddress(ctx, host, addrs);
    return finish(rec, [{ kind: 'address', transport: t, source: 'address', host, port: uri.port, addrs }], root);
  }

  if (forced) {
    const name = `${transportInfo(forced).srvPrefix}.${host}`;
    rec.note(root, `transport=${forced}: SRV ${name}, then A/AAAA.`);
    const out = await followSrv(ctx, rec, name, forced, 'srv', root);
    if (out.state === 'found') return finish(rec, [out.entry], root);
    if (out.state === 'refused') fail('ENOSERVICE', `${name} says SIP over ${forced} is not offered (SRV target ".").`, { name });
    if (out.state === 'noaddress') noSrvAddress(ctx, name, out.why);
    if (!isNegative(ctx, out.error.code)) throw out.error;
    return addressFallback(ctx, rec, host, forced, root);
  }

  // Send the RFC 3263 fallback SRV queries alongside NAPTR: when NAPTR points at them they are already on their way.
  for (const t of enabled) {
    const name = `${transportInfo(t).srvPrefix}.${host}`;
    if (rec.take(name, 'SRV')) ctx.querier.query(name, 'SRV', ctx.signal ? { signal: ctx.signal } : undefined).catch(() => undefined);
  }
  const naptr = await ask(ctx, rec, host, 'NAPTR', root, 'naptr');
  const records = naptr.answer ? naptr.answer.records.map((r) => r.data) : [];
  if (naptr.error && !isNegative(ctx, naptr.error.code)) rec.note(naptr.node, `NAPTR look-up failed (${naptr.error.code}); trying SRV.`);
  if (records.some(isSipNaptr)) {
    const { usable, skipped } = usableNaptrs(records, enabled, uri.scheme);
    for (const s of skipped) rec.note(naptr.node, `Skipped NAPTR ${s.record.order} ${s.record.preference} "${s.record.flags}" "${s.record.services}" ${s.record.replacement}: ${s.why}.`);
    if (usable.length === 0) {
      if (ctx.naptrNoMatch === 'fail') {
        const services = [...new Set(records.filter(isSipNaptr).map((r) => r.services))].join(', ');
        fail('ENOTRANSPORT', `${host} offers SIP only over ${services}, and none of these is enabled (enabled: ${enabled.join(', ')}).`, { host, services });
      }
      rec.note(naptr.node, 'No usable SIP NAPTR; falling back to SRV (naptrNoMatch: fallback).');
    } else {
      return followNaptrs(ctx, rec, host, usable, naptr.node, root);
    }
  }
  return srvFallback(ctx, rec, uri, host, enabled, root, naptr.error);
}

async function followNaptrs(ctx: PlanContext, rec: Recorder, host: string, usable: ReturnType<typeof usableNaptrs>['usable'], parent: TraceNode | undefined, root: TraceNode | undefined): Promise<PlanResult> {
  const none: NoAddressWhy[] = [];
  let lastError: SipLocateError | undefined;
  for (const group of groupByOrder(usable)) {
    const entries: PlanEntry[] = [];
    if (group.length > MAX_NAPTR_FOLLOWED) rec.note(parent, `Order ${group[0]!.record.order} has ${group.length} usable NAPTR records; the first ${MAX_NAPTR_FOLLOWED} by preference are followed.`);
    for (const choice of group.slice(0, MAX_NAPTR_FOLLOWED)) {
      const { record, info } = choice;
      if (choice.lookup === 'a') {
        const addrs = await resolveHost(ctx, rec, record.replacement, parent);
        if (hasAddresses(addrs)) entries.push({ kind: 'address', transport: info.transport, source: 'naptr', host: record.replacement, port: info.defaultPort, addrs });
        else none.push(addrs);
        continue;
      }
      const out = await followSrv(ctx, rec, record.replacement, info.transport, 'naptr', parent);
      if (out.state === 'found') entries.push(out.entry);
      else if (out.state === 'noaddress') none.push(out.why);
      else if (out.state === 'empty') {
        if (!isNegative(ctx, out.error.code)) lastError = out.error;
        rec.note(parent, `${record.replacement} has no SRV records; trying the next NAPTR record.`);
      }
    }
    if (entries.length > 0) return finish(rec, entries, root);
  }
  if (none.length > 0) noSrvAddress(ctx, `the NAPTR records of ${host}`, whyNone(none));
  if (lastError) throw lastError;
  fail('ENOTFOUND', `The NAPTR records of ${host} point at SRV names that have no records.`, { host });
}

async function srvFallback(ctx: PlanContext, rec: Recorder, uri: SipUri, host: string, enabled: readonly Transport[], root: TraceNode | undefined, naptrError: SipLocateError | undefined): Promise<PlanResult> {
  rec.note(root, `No SIP NAPTR for ${host}: SRV for ${enabled.join(', ')}.`);
  const outcomes = await Promise.all(enabled.map((t) => followSrv(ctx, rec, `${transportInfo(t).srvPrefix}.${host}`, t, 'srv', root)));
  const entries: PlanEntry[] = [];
  for (const o of outcomes) if (o.state === 'found') entries.push(o.entry);
  if (entries.length > 0) return finish(rec, entries, root);
  const none = outcomes.flatMap((o) => (o.state === 'noaddress' ? [o.why] : []));
  if (none.length > 0) noSrvAddress(ctx, host, whyNone(none));
  if (outcomes.some((o) => o.state === 'refused')) fail('ENOSERVICE', `${host} says SIP is not offered (SRV target "."), and no other transport has SRV records.`, { host });
  const hard = outcomes.find((o): o is { state: 'empty'; error: SipLocateError } => o.state === 'empty' && !isNegative(ctx, o.error.code));
  if (hard) throw hard.error;
  if (naptrError && !isNegative(ctx, naptrError.code)) throw naptrError;
  return addressFallback(ctx, rec, host, plainTransport(uri.scheme, enabled), root);
}

async function addressFallback(ctx: PlanContext, rec: Recorder, host: string, t: Transport, root: TraceNode | undefined): Promise<PlanResult> {
  rec.note(root, `No SRV records: A/AAAA of ${host}, ${t} port ${defaultPort(t)}.`);
  const addrs = await resolveHost(ctx, rec, host, root);
  if (!hasAddresses(addrs)) return noAddress(ctx, host, addrs);
  return finish(rec, [{ kind: 'address', transport: t, source: 'address', host, port: defaultPort(t), addrs }], root);
}

/** Fails for SRV (or NAPTR) records whose targets gave no usable address: the look-up's error, the excluded family, or ENOADDRESS. */
function noSrvAddress(ctx: PlanContext, name: string, why: NoAddressWhy): never {
  if (why.error) fail(why.error as ErrorCode, `SRV records exist for ${name} but the address look-ups of their targets failed (${why.error}).`, { name });
  if (why.excluded) fail('ENOADDRESS', `The SRV targets of ${name} have only IPv${why.excluded === 4 ? '4' : '6'} addresses, which the family policy ${ctx.family} excludes.`, { name });
  fail('ENOADDRESS', `SRV records exist for ${name} but none of their targets has an address.`, { name });
}

function noAddress(ctx: PlanContext, host: string, addrs: HostAddresses): never {
  if (addrs.excluded) fail('ENOADDRESS', `${host} has only IPv${addrs.excluded === 4 ? '4' : '6'} addresses, which the family policy ${ctx.family} excludes.`, { host });
  if (addrs.error === 'ETIMEOUT') fail('ETIMEOUT', `The address look-up of ${host} timed out.`, { host });
  if (addrs.error) fail(addrs.error as ErrorCode, `The address look-up of ${host} failed (${addrs.error}).`, { host });
  fail('ENOTFOUND', `${host} has no NAPTR, SRV or address records for SIP.`, { host });
}
