/** failoverFrom(): a failure or success reported from outside the flow (a SIP proxy), checked against the destination's targets. */
import { SipLocateError } from '../errors';
import { sameTarget, targetKey, targetText } from '../target';
import type { Failure, FailoverState, ReportOptions, ReportResult, Target, TargetKey } from '../types';
import type { Locator } from '../locator/api';
import { parseSipUri, targetHost } from '../uri';
import { HANDED_OUT_MS } from './report-guard';
import { decide, noFailover, parseFailoverCodes, type Decision } from './policy';
import { MAX_TRIED, readReportedTarget } from './report';
import { checkAffinityKey } from '../rfc3263/affinity';

function reported(v: unknown, what: string): TargetKey {
  const key = readReportedTarget(v);
  if (!key)
    throw new SipLocateError(
      'EINVALIDMSG',
      `The ${what} target is not one such as "udp:192.0.2.1:5060", "tls:[2001:db8::1]:5061" or a target's uri.`,
    );
  return key;
}

/** What a report may do to a locator besides what its public interface offers: the checks and marks of report-guard. */
export interface ReportSink {
  /** A number that grows with every hand-out (taken before the report's own locate). */
  sequence(): number;
  /** False when `uri` names a SIP destination whose targets were not handed out recently (true for what it cannot tell before locating). */
  recent(uri: string): boolean;
  /** True when `target` was handed out for `destination` before sequence `before`. */
  handedOut(destination: string, target: TargetKey, before: number): boolean;
  /** Marks a reported failure for every destination (`shared`) or for `destination` only; false when the destination's rate limit held it back. */
  markReported(destination: string, target: TargetKey, failure: Failure, shared: boolean): boolean;
  /** The next target after the tried ones (pinned in sticky mode), marking nothing. */
  next(state: FailoverState): Target | undefined;
}

/**
 * True when a reported failure marks the target for every destination: a 503 (the server says it is unavailable),
 * a timeout or a transport error (it did not answer), reported for a destination named by host name, or by IP address
 * when `numericShared` allows it. Any other status is an answer about this request: it marks for the destination alone.
 */
export function reportMarksShared(uri: string, failure: Failure, numericShared: boolean): boolean {
  if (failure.status !== undefined && failure.status !== 503) return false;
  if (numericShared) return true;
  try {
    return targetHost(parseSipUri(uri)).hostKind === 0;
  } catch {
    return false;
  }
}

/**
 * Locates `uri` (from cache when warm), checks that `failed` is one of its current targets and was handed out for it
 * by this resolver within HANDED_OUT_MS (else ENOTATARGET, nothing marked), then confirms it (ok or 2xx: grey cleared,
 * pin renewed) or marks it per the failover policy (reportMarksShared() says for which destinations) and picks the
 * next target (ENOFAILOVER for a status the policy does not fail over on).
 */
export async function failoverFrom(
  locator: Locator,
  sink: ReportSink,
  uri: string,
  failed: TargetKey | string,
  options: ReportOptions = {},
  numericShared = false,
): Promise<ReportResult> {
  const failedKey = reported(failed, 'failed');
  const triedIn = options.tried ?? [];
  if (triedIn.length > MAX_TRIED)
    throw new SipLocateError(
      'EINVALIDMSG',
      `The tried list names ${triedIn.length} targets; at most ${MAX_TRIED} are accepted.`,
    );
  const tried = triedIn.map((t) => reported(t, 'tried'));
  const policy =
    typeof options.failoverCodes === 'object' ? options.failoverCodes : parseFailoverCodes(options.failoverCodes);
  const decision: Decision =
    options.ok === true
      ? { action: 'confirm' }
      : decide(policy, { status: options.status, retryAfter: options.retryAfter, reason: options.reason });
  const key = checkAffinityKey(options.key, 'EINVALIDMSG');
  const notHandedOut = (destination: string): SipLocateError =>
    new SipLocateError(
      'ENOTATARGET',
      `${targetText(failedKey)} was not handed out for ${destination} by this resolver in the last ${HANDED_OUT_MS / 60_000} minutes; nothing was marked.`,
      { destination },
    );
  if (!sink.recent(uri)) throw notHandedOut(uri.slice(0, 200));
  const before = sink.sequence();
  const result = locator.locateCached(uri, { key }) ?? (await locator.locate(uri, { signal: options.signal, key }));
  const target = result.targets.find((t) => sameTarget(t, failedKey));
  if (!target) {
    throw new SipLocateError(
      'ENOTATARGET',
      `${targetText(failedKey)} is not one of the current targets of ${result.destination}; nothing was marked.`,
      { destination: result.destination },
    );
  }
  if (!sink.handedOut(result.destination, target, before)) throw notHandedOut(result.destination);
  const base = {
    uri: result.uri,
    destination: result.destination,
    targets: result.targets,
    ...(result.affinityKey !== undefined ? { affinityKey: result.affinityKey } : {}),
  };
  if (decision.action === 'confirm') {
    locator.markSucceeded(target, result.destination, key);
    return {
      ...base,
      target,
      tried: [targetKey(target)],
      confirmed: true,
      sticky: isPinned(locator, result.destination, target, key),
    };
  }
  if (decision.action === 'none') throw noFailover(decision.status, policy);
  const triedKeys: TargetKey[] = [];
  for (const t of tried)
    if (!sameTarget(t, target) && !triedKeys.some((k) => sameTarget(k, t)))
      triedKeys.push(targetKey(result.targets.find((x) => sameTarget(x, t)) ?? t));
  triedKeys.push(targetKey(target));
  sink.markReported(
    result.destination,
    targetKey(target),
    decision.failure,
    reportMarksShared(result.uri, decision.failure, numericShared),
  );
  const next = sink.next({
    destination: result.destination,
    targets: result.targets,
    tried: triedKeys,
    ...(key !== undefined ? { key } : {}),
  });
  const out: ReportResult = {
    ...base,
    tried: next ? [...triedKeys, targetKey(next)] : triedKeys,
    confirmed: false,
    sticky: next ? isPinned(locator, result.destination, next, key) : false,
  };
  if (next) out.target = next;
  return out;
}

function isPinned(locator: Locator, destination: string, t: Target, key: string | undefined): boolean {
  const pin = locator.pinnedTarget(destination, key);
  return pin !== undefined && sameTarget(pin, t);
}
