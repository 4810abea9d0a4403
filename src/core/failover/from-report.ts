/** failoverFrom(): a failure or success reported from outside the flow (a SIP proxy), checked against the destination's targets. */
import { SipLocateError } from '../errors';
import { sameTarget, targetKey, targetText } from '../target';
import type { Locator, ReportOptions, ReportResult, Target, TargetKey } from '../types';
import { decide, noFailover, parseFailoverCodes, type Decision } from './policy';
import { MAX_TRIED, readReportedTarget } from './report';
import { checkAffinityKey } from '../rfc3263/affinity';

function reported(v: unknown, what: string): TargetKey {
  const key = readReportedTarget(v);
  if (!key) throw new SipLocateError('EINVALIDMSG', `The ${what} target is not one such as "udp:192.0.2.1:5060", "tls:[2001:db8::1]:5061" or a target's uri.`);
  return key;
}

/**
 * Locates `uri` (from cache when warm), checks that `failed` is one of its current targets (else ENOTATARGET, nothing
 * marked), then confirms it (ok or 2xx: grey cleared, pin renewed) or marks it per the failover policy and picks the
 * next target (ENOFAILOVER for a status the policy does not fail over on).
 */
export async function failoverFrom(locator: Locator, uri: string, failed: TargetKey | string, options: ReportOptions = {}): Promise<ReportResult> {
  const failedKey = reported(failed, 'failed');
  const triedIn = options.tried ?? [];
  if (triedIn.length > MAX_TRIED) throw new SipLocateError('EINVALIDMSG', `The tried list names ${triedIn.length} targets; at most ${MAX_TRIED} are accepted.`);
  const tried = triedIn.map((t) => reported(t, 'tried'));
  const policy = typeof options.failoverCodes === 'object' ? options.failoverCodes : parseFailoverCodes(options.failoverCodes);
  const decision: Decision = options.ok === true ? { action: 'confirm' } : decide(policy, { status: options.status, retryAfter: options.retryAfter, reason: options.reason });
  const key = checkAffinityKey(options.key, 'EINVALIDMSG');
  const result = locator.locateCached(uri, { key }) ?? (await locator.locate(uri, { signal: options.signal, key }));
  const target = result.targets.find((t) => sameTarget(t, failedKey));
  if (!target) {
    throw new SipLocateError('ENOTATARGET', `${targetText(failedKey)} is not one of the current targets of ${result.destination}; nothing was marked.`, { destination: result.destination });
  }
  const base = { uri: result.uri, destination: result.destination, targets: result.targets, ...(result.affinityKey !== undefined ? { affinityKey: result.affinityKey } : {}) };
  if (decision.action === 'confirm') {
    locator.markSucceeded(target, result.destination, key);
    return { ...base, target, tried: [targetKey(target)], confirmed: true, sticky: isPinned(locator, result.destination, target, key) };
  }
  if (decision.action === 'none') throw noFailover(decision.status, policy);
  const triedKeys: TargetKey[] = [];
  for (const t of tried) if (!sameTarget(t, target) && !triedKeys.some((k) => sameTarget(k, t))) triedKeys.push(targetKey(result.targets.find((x) => sameTarget(x, t)) ?? t));
  triedKeys.push(targetKey(target));
  const next = locator.failover({ destination: result.destination, targets: result.targets, tried: triedKeys, ...(key !== undefined ? { key } : {}) }, decision.failure);
  const out: ReportResult = { ...base, tried: next ? [...triedKeys, targetKey(next)] : triedKeys, confirmed: false, sticky: next ? isPinned(locator, result.destination, next, key) : false };
  if (next) out.target = next;
  return out;
}

function isPinned(locator: Locator, destination: string, t: Target, key: string | undefined): boolean {
  const pin = locator.pinnedTarget(destination, key);
  return pin !== undefined && sameTarget(pin, t);
}
