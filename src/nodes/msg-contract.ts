/** The msg.sip contract between the nodes: its shape, how it is written from a result and checked when read. */
import { SipLocateError, unexpected } from '../core/errors';
import type { FailoverState, Failure, LocateResult, Target, TargetKey } from '../core/types';
import { readTargetKey, targetKey, withAddressing } from '../core/target';
import { checkAffinityKey } from '../core/rfc3263/affinity';

/** The shape of msg.sip that sip-locate writes and the other nodes read. */
export interface SipMsgState {
  uri: string;
  destination: string;
  /** The target to use now. */
  target: Target;
  /** The whole failover order. */
  targets: Target[];
  /** Targets tried for this message, the current one last. */
  tried: TargetKey[];
  /** 1 for the first target, +1 per failover. */
  attempt: number;
  /** True when target is the destination's sticky server. */
  sticky: boolean;
  /** The affinity key the targets were ordered by (the resolver's affinity "key" and a key given); absent otherwise. */
  affinityKey?: string;
  /** True when the DNS data was expired and served because no nameserver answered (RFC 8767); set by sip-locate. */
  stale?: boolean;
  /** Why sending to target failed (read by sip-target-failed): a reason or a SIP status code. */
  failure?: Failure['reason'] | number;
  retryAfter?: number;
  /** Set true to confirm target (sip-target-failed then marks it good). */
  ok?: boolean;
  error?: { code: string; message: string };
  response?: { status: number; reason: string; headers: Record<string, string> };
}

/** msg.sip for a fresh location result. */
export function stateFromResult(result: LocateResult): SipMsgState {
  const target = result.targets[0]!;
  const state: SipMsgState = {
    uri: result.uri,
    destination: result.destination,
    target,
    targets: result.targets,
    tried: [targetKey(target)],
    attempt: 1,
    sticky: result.sticky,
  };
  if (result.affinityKey !== undefined) state.affinityKey = result.affinityKey;
  return state;
}

function isTargetKey(v: unknown): v is TargetKey {
  return readTargetKey(v) !== undefined;
}

const MAX_TARGETS_IN_MSG = 1024;

/** Checks that msg.sip came from sip-locate (target, targets, destination); returns it typed or an EINVALIDMSG error. */
export function readSipState(sip: unknown): SipMsgState | SipLocateError {
  const bad = (what: string): SipLocateError =>
    new SipLocateError(
      'EINVALIDMSG',
      `${what}: connect this node after sip-locate, and keep msg.sip as sip-locate wrote it.`,
    );
  if (typeof sip !== 'object' || sip === null || Array.isArray(sip)) return bad('msg.sip is missing');
  const s = sip as Record<string, unknown>;
  if (!Array.isArray(s.targets) || s.targets.length === 0) return bad('msg.sip.targets is missing or empty');
  if (s.targets.length > MAX_TARGETS_IN_MSG || !s.targets.every(isTargetKey))
    return bad('msg.sip.targets holds something that is not a target');
  if (!isTargetKey(s.target)) return bad('msg.sip.target is missing or not a target');
  if (typeof s.destination !== 'string' || s.destination.length === 0 || s.destination.length > 2100)
    return bad('msg.sip.destination is missing');
  let tried: TargetKey[] = [];
  if (Array.isArray(s.tried) && s.tried.length <= MAX_TARGETS_IN_MSG && s.tried.every(isTargetKey))
    tried = s.tried.map(targetKey);
  const current = targetKey(s.target);
  const last = tried[tried.length - 1];
  if (!last || last.transport !== current.transport || last.address !== current.address || last.port !== current.port)
    tried.push(current);
  let affinityKey: string | undefined;
  try {
    affinityKey = checkAffinityKey(s.affinityKey, 'EINVALIDMSG');
  } catch (err) {
    return err instanceof SipLocateError ? err : bad('msg.sip.affinityKey is not a usable key');
  }
  const attempt =
    typeof s.attempt === 'number' && Number.isInteger(s.attempt) && s.attempt > 0 ? s.attempt : tried.length;
  // The optional fields pass through as sip-locate wrote them; the ones read above are checked.
  const fields: Partial<SipMsgState> = s;
  // uri and key are derived from transport, address and port, never taken from the message.
  return {
    ...fields,
    uri: typeof s.uri === 'string' ? s.uri : '',
    destination: s.destination,
    sticky: s.sticky === true,
    target: withAddressing(s.target as Target),
    targets: (s.targets as Target[]).map(withAddressing),
    tried,
    attempt,
    ...(affinityKey !== undefined ? { affinityKey } : {}),
  };
}

/** The failover state carried in msg.sip. */
export function failoverState(sip: SipMsgState): FailoverState {
  return {
    destination: sip.destination,
    targets: sip.targets,
    tried: sip.tried,
    ...(sip.affinityKey !== undefined ? { key: sip.affinityKey } : {}),
  };
}

/** Converts anything thrown into the { code, message } of msg.sip.error. */
export function errorOf(err: unknown): { code: string; message: string } {
  const e = unexpected(err);
  return { code: e.code, message: e.message };
}
