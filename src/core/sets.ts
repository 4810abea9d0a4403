/**
 * Destination sets: `set:NAME` names an ordered list of members (SIP URIs, domains, tel: numbers), each located
 * through RFC 3263 on its own. The set's targets are the members' targets in set priority order, members of one
 * priority shared by weight (the one weighted draw, or rendezvous hashing for an affinity key), each member's targets
 * in their own RFC 3263 order. Marks, pins, health and admin states then apply through the one target order
 * (failover/order.ts), exactly as for a single destination.
 */
import { isTelUri, parseTelUri } from './enum/tel';
import { SipLocateError } from './errors';
import { orderByKey } from './rfc3263/affinity';
import type { HeadUnit, Plan } from './rfc3263/plan';
import { orderWeighted, type Draw } from './rfc3263/srv';
import { targetId } from './target';
import type { EnumResult, SetMemberResult, Target, TraceNode } from './types';
import { parseSipUri } from './uri';

/** What `set:NAME` starts with; the destination of a set (pins, marks, events, metrics) is the whole `set:NAME`. */
export const SET_PREFIX = 'set:';
/** Most sets one locator holds (a configuration, not traffic: the bound keeps a mistyped import from growing without end). */
export const MAX_SETS = 256;
/** Most members of one set: each is a full RFC 3263 resolution, all run at once for one locate. */
export const MAX_SET_MEMBERS = 16;
/** Longest member URI (as long as a SIP URI may be). */
const MAX_MEMBER_URI = 2048;
/** A set name: letters, digits, dot, dash, underscore; 1 to 64 characters. */
const SET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A checked member: its URI (a bare domain made `sip:domain`), priority and weight. */
export interface Member {
  uri: string;
  priority: number;
  weight: number;
}

/** Checked sets by name. */
export type Sets = ReadonlyMap<string, readonly Member[]>;

const bad = (message: string): SipLocateError => new SipLocateError('EINVALIDOPTION', message, { option: 'sets' });

function intIn(v: unknown, fallback: number, what: string): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'string' && /^\d{1,5}$/.test(v.trim()) ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535)
    throw bad(`${what} must be a whole number from 0 to 65535.`);
  return n;
}

/** A member's URI as located: sip:, sips: and tel: URIs as given, a bare domain (or host:port) as `sip:domain`. */
function memberUri(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > MAX_MEMBER_URI)
    throw bad(`${where} needs a uri: a SIP URI, a domain or a tel: number.`);
  const text = v.trim();
  const uri = /^(sips?|tel):/i.test(text) ? text : `sip:${text}`;
  try {
    if (isTelUri(uri)) parseTelUri(uri);
    else parseSipUri(uri);
  } catch (err) {
    throw bad(`${where}: ${err instanceof SipLocateError ? err.message : 'not a SIP URI, domain or tel: number'}`);
  }
  return uri;
}

/** Reads the `sets` option: `{name: [{uri, priority?, weight?}]}`; throws EINVALIDOPTION saying which set and member is wrong. */
export function readSets(value: unknown): Sets {
  const out = new Map<string, Member[]>();
  if (value === undefined || value === null) return out;
  if (typeof value !== 'object' || Array.isArray(value))
    throw bad('The option sets must be an object such as {"carriers": [{"uri": "sip:a.example.com"}]}.');
  const names = Object.keys(value);
  if (names.length > MAX_SETS)
    throw bad(`The option sets holds ${names.length} sets; at most ${MAX_SETS} are allowed.`);
  for (const name of names) {
    if (!SET_NAME.test(name))
      throw bad(`The set name "${name.slice(0, 70)}" must be 1 to 64 letters, digits, dots, dashes or underscores.`);
    const list: unknown = (value as Record<string, unknown>)[name];
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SET_MEMBERS)
      throw bad(`The set ${name} must list 1 to ${MAX_SET_MEMBERS} members.`);
    out.set(
      name,
      list.map((m: unknown, i): Member => {
        const where = `Member ${i + 1} of set ${name}`;
        const o = typeof m === 'string' ? { uri: m } : m;
        if (typeof o !== 'object' || o === null || Array.isArray(o))
          throw bad(`${where} must be a URI or {uri, priority, weight}.`);
        const r = o as Record<string, unknown>;
        return {
          uri: memberUri(r.uri, where),
          priority: intIn(r.priority, i + 1, `The priority of ${where.toLowerCase()}`),
          weight: intIn(r.weight, 1, `The weight of ${where.toLowerCase()}`),
        };
      }),
    );
  }
  return out;
}

/** The set name of a `set:NAME` destination, or undefined for anything else. */
export function setNameOf(uri: unknown): string | undefined {
  return typeof uri === 'string' && uri.startsWith(SET_PREFIX) ? uri.slice(SET_PREFIX.length) : undefined;
}

/** The members in the order their targets are listed: set priority, then the weighted draw (or hashing) within one. */
export function orderMembers(members: readonly Member[], draw: Draw): Member[] {
  return orderWeighted(
    members,
    (m) => m.priority,
    (m) => m.weight,
    draw,
    (m) => m.uri,
  );
}

/** One member located: its destination, plan and targets in its own RFC 3263 order. */
export interface MemberDraw {
  destination: string;
  plan: Plan;
  drawn: Target[];
  /** The first tier of its plan (planHead), which an affinity key shares with the members of equal priority. */
  head: HeadUnit[];
  stale: boolean;
  trace?: TraceNode;
  enum?: EnumResult;
}

/** What a set locate found, before marks, pins and health apply. */
export interface SetDraw {
  /** The members' targets in set order, duplicates removed, at most maxTargets. */
  drawn: Target[];
  /** The members' plans as one (entries in set order), for failback ranks. */
  plan: Plan;
  stale: boolean;
  members: SetMemberResult[];
  trace?: TraceNode;
}

type Outcome = { member: Member; result: MemberDraw } | { member: Member; error: SipLocateError };

/**
 * With an affinity key, the first tiers of the located members of one set priority as one pool: each server ranked
 * by rendezvous hashing at weight member weight x its SRV weight share, so a failed server's keys spread over every
 * server of that priority (not only its own member's), and each member keeps its share. Returns the pool's targets
 * in that order with the index of the outcome each belongs to; none when fewer than two members were located.
 */
function pooledHeads(
  group: ReadonlyArray<[number, Outcome]>,
  key: string,
): Array<{ index: number; targets: Target[] }> {
  const units: Array<{ index: number; unit: HeadUnit; weight: number }> = [];
  for (const [index, o] of group) {
    if ('error' in o) continue;
    const total = o.result.head.reduce((sum, u) => sum + Math.max(0, u.weight), 0);
    for (const unit of o.result.head)
      units.push({ index, unit, weight: total > 0 ? (o.member.weight * Math.max(0, unit.weight)) / total : 0 });
  }
  if (new Set(units.map((u) => u.index)).size < 2) return [];
  return orderByKey(
    units,
    key,
    (u) => u.unit.id,
    (u) => u.weight,
  ).map((u) => ({ index: u.index, targets: u.unit.targets }));
}

/**
 * Joins the members' outcomes (given in orderMembers() order, so by set priority) into the set's targets, with an
 * affinity key the first tiers of equal-priority members pooled (pooledHeads); throws ESETFAILED when every member failed, naming
 * each member's code.
 */
export function joinMembers(
  name: string,
  outcomes: readonly Outcome[],
  maxTargets: number,
  trace: boolean,
  key?: string,
): SetDraw {
  const drawn: Target[] = [];
  const seen = new Set<string>();
  const members: SetMemberResult[] = [];
  const entries: Plan['entries'] = [];
  const children: TraceNode[] = [];
  let ttl = Infinity;
  let stale = false;
  const counts: number[] = [];
  const take = (index: number, targets: readonly Target[]): void => {
    for (const t of targets) {
      const id = targetId(t);
      if (seen.has(id) || drawn.length >= maxTargets) continue;
      seen.add(id);
      drawn.push(t);
      counts[index] = (counts[index] ?? 0) + 1;
    }
  };
  // Set priority by set priority: with a key the pooled first tiers, then each member's own order.
  const indexed = [...outcomes.entries()];
  for (let start = 0; start < indexed.length;) {
    const priority = indexed[start]![1].member.priority;
    let end = start;
    while (end < indexed.length && indexed[end]![1].member.priority === priority) end++;
    const group = indexed.slice(start, end);
    if (key !== undefined) for (const h of pooledHeads(group, key)) take(h.index, h.targets);
    for (const [index, o] of group) if (!('error' in o)) take(index, o.result.drawn);
    start = end;
  }
  for (const [index, o] of outcomes.entries()) {
    if ('error' in o) {
      members.push({ uri: o.member.uri, targets: 0, error: { code: o.error.code, message: o.error.message } });
      children.push({
        kind: 'note',
        name: o.member.uri,
        outcome: 'error',
        code: o.error.code,
        note: `Member ${o.member.uri} (priority ${o.member.priority}, weight ${o.member.weight}) is skipped: ${o.error.message}`,
        children: [],
      });
      continue;
    }
    const r = o.result;
    const count = counts[index] ?? 0;
    entries.push(...r.plan.entries);
    ttl = Math.min(ttl, r.plan.ttl);
    stale ||= r.stale;
    members.push({ uri: o.member.uri, destination: r.destination, targets: count });
    if (trace)
      children.push(
        r.trace ?? {
          kind: 'note',
          name: o.member.uri,
          note: `Member ${o.member.uri}: ${count} targets (from cache).`,
          children: [],
        },
      );
  }
  if (drawn.length === 0) {
    const codes = members.map((m) => `${m.uri}: ${m.error?.code ?? 'ENOADDRESS'}`);
    throw new SipLocateError('ESETFAILED', `No member of the set ${name} could be located (${codes.join('; ')}).`, {
      set: name,
      members: members.map((m) => ({ uri: m.uri, code: m.error?.code ?? 'ENOADDRESS' })),
    });
  }
  const out: SetDraw = {
    drawn,
    plan: { entries, ttl: ttl === Infinity ? 0 : ttl, ...(stale ? { stale } : {}) },
    stale,
    members,
  };
  if (trace) out.trace = { kind: 'uri', name: `${SET_PREFIX}${name}`, children };
  return out;
}
