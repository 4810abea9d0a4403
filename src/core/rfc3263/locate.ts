/** RFC 3263 sections 4.1 and 4.2: from a SIP URI to a plan of transports, SRV sets and addresses. */
import { SipLocateError, type ErrorCode } from '../errors';
import type { SipUri, TraceNode, Transport } from '../types';
import { targetHost } from '../uri';
import { searchCandidates } from '../system/search';
import type { HostAddresses } from './addresses';
import {
  ask,
  DEFAULT_MAX_QUERIES,
  hasAddresses,
  isNegative,
  NEGATIVE,
  Recorder,
  resolveHost,
  type PlanContext,
} from './lookups';

export { DEFAULT_MAX_QUERIES, type PlanContext } from './lookups';
import { groupByOrder, isSipNaptr, usableNaptrs } from './naptr';
import type { Plan, PlanEntry } from './plan';
import { followSrv, noSrvAddress, whyNone, type NoAddressWhy } from './srv-step';
import { defaultPort, transportInfo } from './transports';

/** Most NAPTR records followed per order. */
export const MAX_NAPTR_FOLLOWED = 16;

/** A plan and, when asked for, the resolution tree. */
export interface PlanResult {
  plan: Plan;
  trace?: TraceNode;
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
    else
      fail('ENOTRANSPORT', `A sips: URI cannot use transport=${uri.transport}; it needs TLS or WSS.`, {
        transport: uri.transport,
      });
  }
  if (!['udp', 'tcp', 'tls', 'sctp', 'ws', 'wss'].includes(t)) {
    fail(
      'ENOTRANSPORT',
      `The transport "${uri.transport}" in the URI is not one this package supports (udp, tcp, tls, sctp, ws, wss).`,
      { transport: uri.transport },
    );
  }
  if (!enabled.includes(t as Transport)) {
    fail(
      'ENOTRANSPORT',
      `The URI asks for transport ${t}, which is not enabled (enabled: ${enabled.join(', ') || 'none'}).`,
      { transport: t },
    );
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
      fail(
        'EBUDGET',
        `Locating ${uri.host} needed more than ${rec.budget} DNS questions and found no target within them (maxQueriesPerLocate).`,
        { host: uri.host, budget: rec.budget },
      );
    }
    throw err;
  }
  if (rec.exhausted)
    rec.note(
      result.trace,
      `Stopped after ${rec.budget} DNS questions (maxQueriesPerLocate): these are the targets found so far.`,
    );
  return result;
}

/** Errors after which the next name of the search list is tried (glibc goes on after NXDOMAIN, NODATA, SERVFAIL and REFUSED). */
const TRY_NEXT_NAME: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA', 'ESERVFAIL', 'EREFUSED', 'ETIMEOUT']);

function uriLabel(uri: SipUri): string {
  return `${uri.scheme}:${uri.host}${uri.absolute ? '.' : ''}${uri.port ? ':' + uri.port : ''}${uri.transport ? ';transport=' + uri.transport : ''}${uri.maddr ? ';maddr=' + uri.maddr : ''}`;
}

/** Applies the search list to the URI host: each candidate name is located in turn until one resolves. */
async function searchPlan(uri: SipUri, ctx: PlanContext, rec: Recorder): Promise<PlanResult> {
  const names =
    uri.hostKind === 0 && uri.maddr === undefined
      ? searchCandidates(uri.host, uri.absolute === true, ctx.search)
      : [uri.host];
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
  fail(
    'ENOTFOUND',
    `No name of the search list has NAPTR, SRV or address records for SIP (tried ${names.join(', ')}).`,
    { host: uri.host, tried: names },
  );
}

async function planFor(
  uri: SipUri,
  ctx: PlanContext,
  rec: Recorder,
  parent: TraceNode | undefined,
): Promise<PlanResult> {
  const root = rec.node('uri', uriLabel(uri), parent);
  const { host, hostKind } = targetHost(uri);
  const enabled = ctx.transports.filter((t) => uri.scheme === 'sip' || transportInfo(t).secure);
  if (enabled.length === 0 && uri.scheme === 'sips')
    fail(
      'ENOTRANSPORT',
      `A sips: URI needs TLS (transport tls or wss), and neither is enabled (enabled: ${ctx.transports.join(', ') || 'none'}).`,
    );
  if (enabled.length === 0)
    fail(
      'ENOTRANSPORT',
      `No enabled transport can carry a ${uri.scheme}: URI (enabled: ${ctx.transports.join(', ') || 'none'}).`,
    );
  const forced = forcedTransport(uri, enabled);

  if (hostKind !== 0) {
    const t = forced ?? plainTransport(uri.scheme, enabled);
    rec.node('numeric', host, root, { note: `IP address: no DNS; ${t} port ${uri.port ?? defaultPort(t)}.` });
    const addrs: HostAddresses = hostKind === 4 ? { v4: [host], v6: [], ttl: 0 } : { v4: [], v6: [host], ttl: 0 };
    if (ctx.family === 'ipv4' && hostKind === 6)
      fail('ENOADDRESS', `${host} is an IPv6 address but the family policy is ipv4.`, { host });
    if (ctx.family === 'ipv6' && hostKind === 4)
      fail('ENOADDRESS', `${host} is an IPv4 address but the family policy is ipv6.`, { host });
    return finish(
      rec,
      [{ kind: 'address', transport: t, source: 'numeric', host, port: uri.port ?? defaultPort(t), addrs }],
      root,
    );
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
    if (out.state === 'refused')
      fail('ENOSERVICE', `${name} says SIP over ${forced} is not offered (SRV target ".").`, { name });
    if (out.state === 'noaddress') noSrvAddress(ctx, name, out.why);
    if (!isNegative(ctx, out.error.code)) throw out.error;
    return addressFallback(ctx, rec, host, forced, root);
  }

  // Send the RFC 3263 fallback SRV queries alongside NAPTR: when NAPTR points at them they are already on their way.
  for (const t of enabled) {
    const name = `${transportInfo(t).srvPrefix}.${host}`;
    if (rec.take(name, 'SRV'))
      ctx.querier.query(name, 'SRV', ctx.signal ? { signal: ctx.signal } : undefined).catch(() => undefined);
  }
  const naptr = await ask(ctx, rec, host, 'NAPTR', root, 'naptr');
  const records = naptr.answer ? naptr.answer.records.map((r) => r.data) : [];
  if (naptr.error && !isNegative(ctx, naptr.error.code))
    rec.note(naptr.node, `NAPTR look-up failed (${naptr.error.code}); trying SRV.`);
  if (records.some(isSipNaptr)) {
    const { usable, skipped } = usableNaptrs(records, enabled, uri.scheme);
    for (const s of skipped)
      rec.note(
        naptr.node,
        `Skipped NAPTR ${s.record.order} ${s.record.preference} "${s.record.flags}" "${s.record.services}" ${s.record.replacement}: ${s.why}.`,
      );
    if (usable.length === 0) {
      if (ctx.naptrNoMatch === 'fail') {
        const services = [...new Set(records.filter(isSipNaptr).map((r) => r.services))].join(', ');
        fail(
          'ENOTRANSPORT',
          `${host} offers SIP only over ${services}, and none of these is enabled (enabled: ${enabled.join(', ')}).`,
          { host, services },
        );
      }
      rec.note(naptr.node, 'No usable SIP NAPTR; falling back to SRV (naptrNoMatch: fallback).');
    } else {
      return followNaptrs(ctx, rec, host, usable, naptr.node, root);
    }
  }
  return srvFallback(ctx, rec, uri, host, enabled, root, naptr.error);
}

async function followNaptrs(
  ctx: PlanContext,
  rec: Recorder,
  host: string,
  usable: ReturnType<typeof usableNaptrs>['usable'],
  parent: TraceNode | undefined,
  root: TraceNode | undefined,
): Promise<PlanResult> {
  const none: NoAddressWhy[] = [];
  let lastError: SipLocateError | undefined;
  /** The transport of the first NAPTR whose SRV name has no records (NXDOMAIN or NODATA). */
  let emptyTransport: Transport | undefined;
  for (const group of groupByOrder(usable)) {
    const entries: PlanEntry[] = [];
    if (group.length > MAX_NAPTR_FOLLOWED)
      rec.note(
        parent,
        `Order ${group[0]!.record.order} has ${group.length} usable NAPTR records; the first ${MAX_NAPTR_FOLLOWED} by preference are followed.`,
      );
    for (const choice of group.slice(0, MAX_NAPTR_FOLLOWED)) {
      const { record, info } = choice;
      if (choice.lookup === 'a') {
        const addrs = await resolveHost(ctx, rec, record.replacement, parent);
        if (hasAddresses(addrs))
          entries.push({
            kind: 'address',
            transport: info.transport,
            source: 'naptr',
            host: record.replacement,
            port: info.defaultPort,
            addrs,
          });
        else none.push(addrs);
        continue;
      }
      const out = await followSrv(ctx, rec, record.replacement, info.transport, 'naptr', parent);
      if (out.state === 'found') entries.push(out.entry);
      else if (out.state === 'noaddress') none.push(out.why);
      else if (out.state === 'empty') {
        if (!isNegative(ctx, out.error.code)) lastError = out.error;
        else emptyTransport ??= info.transport;
        rec.note(parent, `${record.replacement} has no SRV records; trying the next NAPTR record.`);
      }
    }
    if (entries.length > 0) return finish(rec, entries, root);
  }
  if (none.length > 0) noSrvAddress(ctx, `the NAPTR records of ${host}`, whyNone(none));
  if (lastError) throw lastError;
  // RFC 3263 section 4.2, read literally: "If no SRV records were found, the client performs an A or AAAA record
  // lookup of the domain name", with the transport the NAPTR chose, at its default port (as libre and belle-sip do).
  if (emptyTransport) {
    rec.note(
      parent,
      `No usable NAPTR record of ${host} leads to SRV records (RFC 3263 section 4.2): A/AAAA of ${host}.`,
    );
    return addressFallback(ctx, rec, host, emptyTransport, root);
  }
  fail('ENOTFOUND', `The NAPTR records of ${host} point at SRV names that have no records.`, { host });
}

async function srvFallback(
  ctx: PlanContext,
  rec: Recorder,
  uri: SipUri,
  host: string,
  enabled: readonly Transport[],
  root: TraceNode | undefined,
  naptrError: SipLocateError | undefined,
): Promise<PlanResult> {
  rec.note(root, `No SIP NAPTR for ${host}: SRV for ${enabled.join(', ')}.`);
  const outcomes = await Promise.all(
    enabled.map((t) => followSrv(ctx, rec, `${transportInfo(t).srvPrefix}.${host}`, t, 'srv', root)),
  );
  const entries: PlanEntry[] = [];
  for (const o of outcomes) if (o.state === 'found') entries.push(o.entry);
  if (entries.length > 0) return finish(rec, entries, root);
  const none = outcomes.flatMap((o) => (o.state === 'noaddress' ? [o.why] : []));
  if (none.length > 0) noSrvAddress(ctx, host, whyNone(none));
  if (outcomes.some((o) => o.state === 'refused'))
    fail('ENOSERVICE', `${host} says SIP is not offered (SRV target "."), and no other transport has SRV records.`, {
      host,
    });
  const hard = outcomes.find(
    (o): o is { state: 'empty'; error: SipLocateError } => o.state === 'empty' && !isNegative(ctx, o.error.code),
  );
  if (hard) throw hard.error;
  if (naptrError && !isNegative(ctx, naptrError.code)) throw naptrError;
  return addressFallback(ctx, rec, host, plainTransport(uri.scheme, enabled), root);
}

async function addressFallback(
  ctx: PlanContext,
  rec: Recorder,
  host: string,
  t: Transport,
  root: TraceNode | undefined,
): Promise<PlanResult> {
  rec.note(root, `No SRV records: A/AAAA of ${host}, ${t} port ${defaultPort(t)}.`);
  const addrs = await resolveHost(ctx, rec, host, root);
  if (!hasAddresses(addrs)) return noAddress(ctx, host, addrs);
  return finish(rec, [{ kind: 'address', transport: t, source: 'address', host, port: defaultPort(t), addrs }], root);
}

function noAddress(ctx: PlanContext, host: string, addrs: HostAddresses): never {
  if (addrs.excluded)
    fail(
      'ENOADDRESS',
      `${host} has only IPv${addrs.excluded === 4 ? '4' : '6'} addresses, which the family policy ${ctx.family} excludes.`,
      { host },
    );
  if (addrs.error === 'ETIMEOUT') fail('ETIMEOUT', `The address look-up of ${host} timed out.`, { host });
  if (addrs.error) fail(addrs.error as ErrorCode, `The address look-up of ${host} failed (${addrs.error}).`, { host });
  fail('ENOTFOUND', `${host} has no NAPTR, SRV or address records for SIP.`, { host });
}
