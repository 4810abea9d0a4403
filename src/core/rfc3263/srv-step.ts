/** RFC 3263 sections 4.1 and 4.2, the SRV step: one SRV look-up and the addresses of its targets. */
import { SipLocateError, type ErrorCode } from '../errors';
import type { SrvData } from '../dns/types';
import type { TraceNode, Transport } from '../types';
import type { HostAddresses } from './addresses';
import { ask, hasAddresses, resolveHost, type PlanContext, type Recorder } from './lookups';
import type { PlanEntry } from './plan';
import { isServiceRefused, MAX_SRV, orderSrv } from './srv';

/** Most distinct SRV target hosts whose addresses are looked up per SRV RRset (the first of an RFC 2782 draw). */
export const MAX_SRV_HOSTS_FOLLOWED = 16;
/** How following one SRV name ended. */
export type SrvOutcome =
  | { state: 'found'; entry: PlanEntry }
  | { state: 'empty'; error: SipLocateError }
  | { state: 'refused' }
  | { state: 'noaddress'; why: NoAddressWhy };

/** Why hosts have no usable address: a failed look-up's code, or the family the policy excluded. */
export interface NoAddressWhy {
  error?: string;
  excluded?: 4 | 6;
}

/** Combines the reasons of several hosts: a failed look-up (SERVFAIL, timeout) wins, then an excluded family shared by all. */
export function whyNone(list: readonly NoAddressWhy[]): NoAddressWhy {
  const error = list.find((h) => h.error !== undefined)?.error;
  if (error !== undefined) return { error };
  const excluded = list[0]?.excluded;
  return excluded !== undefined && list.every((h) => h.excluded === excluded) ? { excluded } : {};
}

/** SRV look-up of `name` and the addresses of its targets. */
export async function followSrv(
  ctx: PlanContext,
  rec: Recorder,
  name: string,
  transport: Transport,
  source: 'naptr' | 'srv',
  parent: TraceNode | undefined,
): Promise<SrvOutcome> {
  const { answer, error, node } = await ask(ctx, rec, name, 'SRV', parent, 'srv');
  if (!answer) return { state: 'empty', error: error! };
  const records: SrvData[] = answer.records.slice(0, MAX_SRV).map((r) => r.data);
  if (isServiceRefused(records)) {
    rec.note(node, `SRV target "." at ${name}: the service is decidedly not available (RFC 2782).`);
    return { state: 'refused' };
  }
  const portZero = records.filter((r) => r.target !== '.' && r.port === 0);
  for (const r of portZero)
    rec.note(node, `Skipped SRV ${r.priority} ${r.weight} 0 ${r.target}: port 0 cannot be used.`);
  const byPriority = records.filter((r) => r.target !== '.' && r.port !== 0).sort((x, y) => x.priority - y.priority);
  if (byPriority.length === 0) return { state: 'noaddress', why: {} };
  let allTargets = [...new Set(byPriority.map((r) => r.target))];
  if (allTargets.length > MAX_SRV_HOSTS_FOLLOWED) {
    // The weighted order over whole priorities first (RFC 2782), then its first hosts: a heavy record listed last in
    // the answer is looked up as often as its weight says, not never.
    allTargets = [...new Set(orderSrv(byPriority, ctx.random ?? Math.random).map((r) => r.target))];
    rec.note(
      node,
      `${name} names ${allTargets.length} target hosts; the addresses of the first ${MAX_SRV_HOSTS_FOLLOWED} of an RFC 2782 draw (priority, then weight) are looked up.`,
    );
  }
  const targets = allTargets.slice(0, MAX_SRV_HOSTS_FOLLOWED);
  const hosts = new Map<string, HostAddresses>();
  await Promise.all(targets.map(async (t) => hosts.set(t, await resolveHost(ctx, rec, t, node))));
  const live = [...hosts.values()].filter(hasAddresses);
  if (live.length === 0) {
    rec.note(node, `No SRV target of ${name} has an address.`);
    return { state: 'noaddress', why: whyNone([...hosts.values()]) };
  }
  return { state: 'found', entry: { kind: 'srv', transport, source, srv: records.filter((r) => r.port !== 0), hosts } };
}

/** Fails for SRV (or NAPTR) records whose targets gave no usable address: the look-up's error, the excluded family, or ENOADDRESS. */
export function noSrvAddress(ctx: PlanContext, name: string, why: NoAddressWhy): never {
  if (why.error)
    throw new SipLocateError(
      why.error as ErrorCode,
      `SRV records exist for ${name} but the address look-ups of their targets failed (${why.error}).`,
      { name },
    );
  if (why.excluded)
    throw new SipLocateError(
      'ENOADDRESS',
      `The SRV targets of ${name} have only IPv${why.excluded === 4 ? '4' : '6'} addresses, which the family policy ${ctx.family} excludes.`,
      { name },
    );
  throw new SipLocateError('ENOADDRESS', `SRV records exist for ${name} but none of their targets has an address.`, {
    name,
  });
}
