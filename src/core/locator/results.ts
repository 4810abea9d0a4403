/**
 * A locate's answer from a plan: the affinity key checked, the plan drawn (weighted, or rendezvous-hashed by the
 * key), the one target order and the pin applied (failover/target-state.ts), the hand-out noted for reports.
 */
import { choiceNote } from '../choice';
import { SipLocateError } from '../errors';
import type { TargetState } from '../failover/target-state';
import { checkAffinityKey } from '../rfc3263/affinity';
import { planTargets, type Plan } from '../rfc3263/plan';
import type { FailoverState, LocateResult, Target, TraceNode } from '../types';
import type { Settings } from './options';
import type { PlanCache } from './plan-cache';
import type { Reports } from './reports';

/** What results need from the rest of the locator. */
export interface ResultParts {
  s: Settings;
  random: () => number;
  cache: PlanCache;
  targets: () => TargetState;
  reports: Reports;
}

/** The answers of one locator. */
export class Results {
  constructor(private readonly parts: ResultParts) {}

  /** The affinity key in force for a call: checked (a bad one throws `code`), undefined with affinity "destination". */
  keyOf(key: unknown, code: 'EINVALIDOPTION' | 'EINVALIDMSG'): string | undefined {
    const checked = checkAffinityKey(key, code);
    return this.parts.s.keyed ? checked : undefined;
  }

  /**
   * Draws the order from a plan (or takes `given`, a set's drawn members) and applies marks and the pin (readOnly:
   * without changing pins); throws ENOADDRESS when nothing is left. With `trace`, adds why targets[0] was chosen.
   */
  from(
    uri: string,
    destination: string,
    plan: Plan,
    readOnly = false,
    key?: string,
    given?: Target[],
    trace?: TraceNode,
  ): LocateResult {
    const { s, random } = this.parts;
    // With an affinity key the draw is rendezvous hashing of (key, host:port); a set's members were drawn already.
    const drawn = given ?? planTargets(plan, s.family, random, s.maxTargets, key);
    if (drawn.length === 0) {
      throw new SipLocateError(
        'ENOADDRESS',
        `No address is left for ${destination} under the family policy ${s.family}.`,
        { destination },
      );
    }
    const { targets, sticky, order } = this.parts.targets().order(destination, drawn, plan, readOnly, key);
    if (!readOnly) this.parts.reports.record(destination, plan);
    const result: LocateResult = { uri, destination, targets, sticky, stale: plan.stale === true };
    if (key !== undefined) result.affinityKey = key;
    // Try it and --trace say why targets[0] was chosen: hash rank, pin, or failover past marked servers.
    if (trace) result.trace = { ...trace, children: [...trace.children, choiceNote(destination, drawn, order, key)] };
    return result;
  }

  /** The failover state with its key checked, and a fresh draw of the destination's cached plan (for ties). */
  failoverInput(state: FailoverState): { keyed: FailoverState; drawn: Target[] | undefined } {
    const { s, random, cache } = this.parts;
    const key = this.keyOf(state.key, 'EINVALIDMSG');
    const plan = cache.get(state.destination);
    const keyed: FailoverState =
      key === undefined
        ? { destination: state.destination, targets: state.targets, tried: state.tried }
        : { ...state, key };
    return { keyed, drawn: plan && planTargets(plan, s.family, random, s.maxTargets, key) };
  }
}
