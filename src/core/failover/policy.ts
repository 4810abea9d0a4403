/** Which SIP status codes move a request on to the next target (failoverCodes), and what a reported status means. */
import { SipLocateError } from '../errors';
import type { Failure, FailoverPolicy } from '../types';

/** The default failoverCodes: only 503 moves on (RFC 3263 section 4.3); 486, 603 and the like are answers. */
export const DEFAULT_FAILOVER_CODES = '503';
const MAX_SETTING = 500;

export type { FailoverPolicy } from '../types';

/**
 * Parses a failoverCodes setting: status codes 300-699 and classes 3xx-6xx, separated by commas or spaces
 * ("408, 480, 5xx, 6xx"); empty means the default (503). Throws EINVALIDOPTION with a sentence.
 */
export function parseFailoverCodes(setting: unknown): FailoverPolicy {
  return parseCodeList(setting, 'failoverCodes', DEFAULT_FAILOVER_CODES, 3);
}

/**
 * Parses a list of SIP status codes and classes ("200, 404, 5xx") for the setting `option`: codes and classes from
 * `lowest`xx to 6xx; empty means `fallback`. Throws EINVALIDOPTION with a sentence.
 */
export function parseCodeList(setting: unknown, option: string, fallback: string, lowest: number): FailoverPolicy {
  if (setting === undefined || setting === null) return parseCodeList(fallback, option, fallback, lowest);
  const text = Array.isArray(setting)
    ? setting.map(String).join(',')
    : typeof setting === 'number'
      ? String(setting)
      : setting;
  if (typeof text !== 'string')
    throw new SipLocateError(
      'EINVALIDOPTION',
      `${option} must be a list of SIP status codes such as "503" or "408, 480, 5xx".`,
      { option },
    );
  if (text.length > MAX_SETTING)
    throw new SipLocateError(
      'EINVALIDOPTION',
      `${option} is longer than ${MAX_SETTING} characters; use classes such as 5xx instead of listing every code.`,
      { option },
    );
  const items = text.split(/[\s,;]+/).filter((s) => s.length > 0);
  if (items.length === 0) return parseCodeList(fallback, option, fallback, lowest);
  const codes = new Set<number>();
  const classes = new Set<number>();
  for (const item of items) {
    const shown = JSON.stringify(item.slice(0, 20));
    const cls = /^([1-9])xx$/i.exec(item);
    const code = /^[1-9]\d\d$/.test(item) ? Number(item) : undefined;
    const first = cls ? Number(cls[1]) : code !== undefined ? Math.floor(code / 100) : undefined;
    if (first === undefined)
      throw new SipLocateError(
        'EINVALIDOPTION',
        `${shown} in ${option} is not a SIP status code (such as 503) or a class (such as 5xx).`,
        { option },
      );
    if (first < lowest || first > 6) {
      const why =
        lowest === 3
          ? 'is not a failure: only 3xx to 6xx responses can move a request to the next target'
          : `is not a final response this setting takes (${lowest}xx to 6xx)`;
      throw new SipLocateError('EINVALIDOPTION', `${shown} in ${option} ${why}.`, { option });
    }
    if (cls) classes.add(first);
    else codes.add(code!);
  }
  const normal = [
    ...[...codes]
      .filter((c) => !classes.has(Math.floor(c / 100)))
      .sort((a, b) => a - b)
      .map(String),
    ...[...classes].sort().map((c) => `${c}xx`),
  ];
  return {
    text: normal.join(', '),
    fails: (status: number) => Number.isInteger(status) && (codes.has(status) || classes.has(Math.floor(status / 100))),
  };
}

/** parseFailoverCodes() for a node setting: the policy, or the EINVALIDOPTION error that every message then gets. */
export function failoverPolicyOf(setting: unknown): FailoverPolicy | SipLocateError {
  try {
    return parseFailoverCodes(setting === '' ? undefined : setting);
  } catch (err) {
    return err instanceof SipLocateError
      ? err
      : new SipLocateError('EINVALIDOPTION', 'failoverCodes could not be read.');
  }
}

/** What a reported outcome asks for: confirm the target, fail over with this failure, or nothing (an answer that does not fail over). */
export type Decision =
  { action: 'confirm' } | { action: 'failover'; failure: Failure } | { action: 'none'; status: number };

/** What a reported failure asks for: a reason (transport, timeout) or a SIP status code with its Retry-After. */
export interface Outcome {
  reason?: 'transport' | 'timeout';
  status?: number;
  retryAfter?: number;
}

/**
 * Decides what an outcome means under a policy: 2xx confirms; a transport error or timeout fails over (grey);
 * a status in the policy fails over (503 with Retry-After black, others grey); any other status does not fail over.
 */
export function decide(policy: FailoverPolicy, outcome: Outcome): Decision {
  const { status } = outcome;
  if (status === undefined) return { action: 'failover', failure: { reason: outcome.reason ?? 'transport' } };
  if (status >= 200 && status < 300) return { action: 'confirm' };
  if (!policy.fails(status)) return { action: 'none', status };
  if (status === 503) {
    const ra = outcome.retryAfter;
    return {
      action: 'failover',
      failure:
        ra !== undefined && Number.isFinite(ra) && ra > 0
          ? { reason: '503', retryAfter: ra, status }
          : { reason: '503', status },
    };
  }
  return { action: 'failover', failure: { reason: status === 408 ? 'timeout' : 'transport', status } };
}

/** The ENOFAILOVER error for a status the policy does not fail over on. */
export function noFailover(status: number, policy: FailoverPolicy): SipLocateError {
  return new SipLocateError(
    'ENOFAILOVER',
    `${status} is an answer, not a reason to try another server (failoverCodes: ${policy.text}).`,
    { status },
  );
}
