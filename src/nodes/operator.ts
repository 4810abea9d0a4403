/** Operator control shared by the admin API and the sip-events node: reading drain/disable/enable requests and the resolver's state. */
import { isAdminState, MAX_ADMIN_SECONDS } from '../core/failover/admin';
import { SipLocateError } from '../core/errors';
import type { SipLocator } from '../core/locator';
import type { AdminState, TargetKey } from '../core/types';
import type { Locator } from '../core/locator/api';
import { canonicalAddress, readTargetKey } from '../core/target';
import type { ResolverConfigNode } from './resolver-lookup';

/** Shortest operator state, s: a shorter one would lapse before the store or a second instance saw it. */
export const MIN_ADMIN_SECONDS = 1;

/** A checked operator request: which target, which state, for how long. */
export interface TargetRequest {
  target: TargetKey;
  state: AdminState;
  seconds?: number;
}

/** The locator with events, operator states and counters, when the resolver has one (injected locators may not). */
export function sipLocatorOf(locator: Locator | undefined): SipLocator | undefined {
  const l = locator as Partial<SipLocator> | undefined;
  return l && l.events && typeof l.setTargetState === 'function' && typeof l.counters === 'function'
    ? (l as SipLocator)
    : undefined;
}

/** Reads `{transport, address, port, state, seconds?}` (or the target under `target`); a SipLocateError EINVALIDMSG says what is wrong. */
export function readTargetRequest(body: unknown, state?: unknown): TargetRequest | SipLocateError {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return new SipLocateError(
      'EINVALIDMSG',
      'Send a JSON object like {"transport": "udp", "address": "192.0.2.10", "port": 5060, "state": "drain"}.',
    );
  }
  const b = body as Record<string, unknown>;
  const want = state ?? b.state;
  if (!isAdminState(want))
    return new SipLocateError('EINVALIDMSG', 'The state must be "drain", "disable" or "enable".');
  const given: unknown = typeof b.target === 'object' && b.target !== null ? b.target : b;
  // Say so when an address is not written the way targets are shown and matched, rather than quietly rewrite it.
  const written =
    typeof given === 'object' && given !== null && 'address' in given && typeof given.address === 'string'
      ? given.address
      : undefined;
  if (
    written !== undefined &&
    /^[0-9A-Fa-f:.]+(%.+)?$/.test(written) &&
    written.includes(':') &&
    canonicalAddress(written) !== written
  ) {
    const canonical = canonicalAddress(written);
    const hint = canonical === undefined ? 'use an address without a zone index' : `write it as ${canonical}`;
    return new SipLocateError(
      'EINVALIDMSG',
      `The address ${written.slice(0, 64)} is not in the form targets are matched in: ${hint}.`,
    );
  }
  const target = readTargetKey(given);
  if (!target)
    return new SipLocateError(
      'EINVALIDMSG',
      'The target needs a transport (udp, tcp, tls, sctp, ws, wss), an IP address and a port from 1 to 65535.',
    );
  const seconds =
    b.seconds ??
    (typeof b.target === 'object' && b.target !== null ? (b.target as Record<string, unknown>).seconds : undefined);
  if (
    seconds !== undefined &&
    (typeof seconds !== 'number' ||
      !Number.isFinite(seconds) ||
      seconds < MIN_ADMIN_SECONDS ||
      seconds > MAX_ADMIN_SECONDS)
  ) {
    return new SipLocateError(
      'EINVALIDMSG',
      `The seconds must be a number from ${MIN_ADMIN_SECONDS} to ${MAX_ADMIN_SECONDS} (30 days).`,
    );
  }
  return seconds === undefined ? { target, state: want } : { target, state: want, seconds };
}

/** What a resolver believes: marks, pins, operator states, health (when probing runs), nameservers and the store. */
export function resolverState(node: ResolverConfigNode, locator: Locator): Record<string, unknown> {
  const sip = sipLocatorOf(locator);
  return {
    ...locator.state(),
    admin: locator.adminStates?.() ?? [],
    health: sip?.health.list() ?? [],
    nameservers: sip?.dns?.nameserverStates() ?? [],
    store: node.storeStatus() ?? { kind: 'memory', state: 'memory' },
  };
}
