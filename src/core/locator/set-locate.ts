/**
 * Destination sets (`set:NAME`): every member located at once, each in its own RFC 3263 order (keyed when a key is
 * given), the members joined in set order (core/sets.ts), then the one target order and the set's pin as for any
 * destination.
 */
import { withEnum, type EnumStep } from '../enum/step';
import { SipLocateError, unexpected } from '../errors';
import { planHead, planTargets, type Plan } from '../rfc3263/plan';
import { joinMembers, orderMembers, SET_PREFIX, type Member, type MemberDraw, type SetDraw } from '../sets';
import type { LocateOptions, LocateResult, Target, TraceNode } from '../types';
import type { Settings } from './options';
import type { PlanBuilds, Planned } from './plan-builds';

/** What sets need from the rest of the locator. */
export interface SetParts {
  s: Settings;
  random: () => number;
  builds: PlanBuilds;
  enums: EnumStep;
  /** The one order applied to drawn targets (the façade's resultFrom). */
  result(
    uri: string,
    destination: string,
    plan: Plan,
    readOnly: boolean,
    key: string | undefined,
    drawn: Target[],
    trace: TraceNode | undefined,
  ): LocateResult;
  /** A SIP member's probe targets. */
  probeTargets(uri: string, signal?: AbortSignal): Promise<readonly Target[]>;
}

/** The destination sets of one locator. */
export class SetLocate {
  constructor(private readonly parts: SetParts) {}

  /** Locates set `name`: every member at once; fails with ESETFAILED only when every member fails. */
  async locate(name: string, options: LocateOptions, key: string | undefined): Promise<LocateResult> {
    const members = this.members(name);
    const outcomes = await Promise.all(
      this.ordered(members, key).map((member) =>
        this.parts.builds.planOf(member.uri, { trace: options.trace, signal: options.signal }).then(
          (p) => ({ member, result: this.memberDraw(member.uri, p, key) }),
          (err: unknown) => ({ member, error: unexpected(err) }),
        ),
      ),
    );
    if (options.signal?.aborted)
      throw new SipLocateError('ECANCELLED', `Locating ${SET_PREFIX}${name} was cancelled.`, {
        uri: `${SET_PREFIX}${name}`,
      });
    return this.result(
      name,
      joinMembers(name, outcomes, this.parts.s.maxTargets, options.trace === true, key),
      options.trace === true,
      key,
    );
  }

  /** A set's answer when every member's plan is cached and fresh, else undefined. */
  cached(name: string, key: string | undefined): LocateResult | undefined {
    const members = this.parts.s.sets.get(name);
    if (!members) return undefined;
    const outcomes: Array<{ member: Member; result: MemberDraw }> = [];
    for (const member of this.ordered(members, key)) {
      const p = this.parts.builds.cachedPlanOf(member.uri);
      if (!p) return undefined;
      outcomes.push({ member, result: this.memberDraw(member.uri, p, key) });
    }
    return this.result(name, joinMembers(name, outcomes, this.parts.s.maxTargets, false, key), false, key);
  }

  /** Every target of a set's SIP members (a member that fails to resolve gives none), duplicates removed, at most maxTargets. */
  async probe(name: string, signal?: AbortSignal): Promise<readonly Target[]> {
    const members = this.members(name);
    const lists = await Promise.all(
      members.map((m) =>
        this.parts.enums.handles(m.uri)
          ? Promise.resolve([])
          : this.parts.probeTargets(m.uri, signal).catch((): readonly Target[] => []),
      ),
    );
    const seen = new Set<string>();
    const out: Target[] = [];
    for (const t of lists.flat()) {
      if (out.length >= this.parts.s.maxTargets || seen.has(t.key)) continue;
      seen.add(t.key);
      out.push(t);
    }
    return Object.freeze(out);
  }

  /** The members of set `name`; EINVALIDURI naming the sets there are when it does not exist. */
  private members(name: string): readonly Member[] {
    const members = this.parts.s.sets.get(name);
    if (!members)
      throw new SipLocateError(
        'EINVALIDURI',
        `There is no destination set named "${name.slice(0, 64)}"; this resolver's sets are: ${[...this.parts.s.sets.keys()].slice(0, 20).join(', ') || 'none'}.`,
        { set: name.slice(0, 64) },
      );
    return members;
  }

  private ordered(members: readonly Member[], key: string | undefined): Member[] {
    return orderMembers(
      members,
      key === undefined ? { random: this.parts.random } : { random: this.parts.random, key },
    );
  }

  /** A member of a set located: its plan drawn in its own RFC 3263 order (keyed when a key is given). */
  private memberDraw(memberUri: string, p: Planned, key: string | undefined): MemberDraw {
    const { s, random } = this.parts;
    const drawn = planTargets(p.plan, s.family, random, s.maxTargets, key);
    const result: MemberDraw = {
      destination: p.destination,
      plan: p.plan,
      drawn,
      head: key === undefined ? [] : planHead(p.plan, s.family),
      stale: p.stale || p.plan.stale === true,
    };
    const trace =
      p.found && p.trace
        ? withEnum(memberUri, p.found, {
            uri: p.uri,
            destination: p.destination,
            targets: drawn,
            sticky: false,
            stale: result.stale,
            trace: p.trace,
          }).trace
        : p.trace;
    if (trace) result.trace = trace;
    return result;
  }

  /** The result of a set from its joined members. */
  private result(name: string, set: SetDraw, readOnly: boolean, key: string | undefined): LocateResult {
    const destination = `${SET_PREFIX}${name}`;
    const result = this.parts.result(destination, destination, set.plan, readOnly, key, set.drawn, set.trace);
    result.members = set.members;
    if (set.stale) result.stale = true;
    return result;
  }
}
