/** What the node adapters share: the msg.sip contract, validation of it, and status texts. */
import { SipLocateError, unexpected } from '../core/errors';
import type { FailoverState, Failure, Locator, LocateResult, Target, TargetKey } from '../core/types';
import { withAddressing } from '../core/target-address';
import { readTargetKey } from '../store/records';
import type { StoreStatus } from '../store/types';
import type { Node, NodeAPI, NodeStatus } from 'node-red';

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

/** The secrets a sip-resolver keeps in Node-RED's credentials store. */
export interface ResolverCredentials {
  redisPassword?: string;
}

/** The runtime side of a sip-resolver config node, as its users see it. */
export interface ResolverConfigNode extends Node<ResolverCredentials> {
  /** The shared locator, or undefined when the configuration is invalid. */
  locator: Locator | undefined;
  /** Why there is no locator. */
  configError: SipLocateError | undefined;
  sticky: boolean;
  /** How its state store is doing (undefined for memory). */
  storeStatus(): StoreStatus | undefined;
  register(user: Node): void;
  deregister(user: Node): void;
  /** Tells the resolver a destination was located (the sidebar's recent destinations). */
  seen(result: LocateResult): void;
}

/** The config node a user node points at, or a typed error saying what to fix. */
export function resolverOf(getNode: (id: string) => Node | null, id: unknown): ResolverConfigNode | SipLocateError {
  const node = typeof id === 'string' && id.length > 0 ? getNode(id) : null;
  if (!node || node.type !== 'sip-resolver') {
    return new SipLocateError('EINVALIDOPTION', 'No sip-resolver configuration is selected: open this node and pick or add one.');
  }
  return node as ResolverConfigNode;
}

/** The locator of a resolver node, or the error to report. */
export function locatorOf(resolver: ResolverConfigNode | SipLocateError): Locator | SipLocateError {
  if (resolver instanceof SipLocateError) return resolver;
  if (resolver.configError) return resolver.configError;
  if (!resolver.locator) return new SipLocateError('ECLOSED', 'The sip-resolver configuration is not running.');
  return resolver.locator;
}

/** msg.sip for a fresh location result. */
export function stateFromResult(result: LocateResult): SipMsgState {
  const target = result.targets[0]!;
  return { uri: result.uri, destination: result.destination, target, targets: result.targets, tried: [keyOf(target)], attempt: 1, sticky: result.sticky };
}

/** The mark-relevant part of a target. */
export function keyOf(t: TargetKey): TargetKey {
  return { transport: t.transport, address: t.address, port: t.port };
}

function isTargetKey(v: unknown): v is TargetKey {
  return readTargetKey(v) !== undefined;
}

const MAX_TARGETS_IN_MSG = 1024;

/** Checks that msg.sip came from sip-locate (target, targets, destination); returns it typed or an EINVALIDMSG error. */
export function readSipState(sip: unknown): SipMsgState | SipLocateError {
  const bad = (what: string): SipLocateError => new SipLocateError('EINVALIDMSG', `${what}: connect this node after sip-locate, and keep msg.sip as sip-locate wrote it.`);
  if (typeof sip !== 'object' || sip === null || Array.isArray(sip)) return bad('msg.sip is missing');
  const s = sip as Record<string, unknown>;
  if (!Array.isArray(s.targets) || s.targets.length === 0) return bad('msg.sip.targets is missing or empty');
  if (s.targets.length > MAX_TARGETS_IN_MSG || !s.targets.every(isTargetKey)) return bad('msg.sip.targets holds something that is not a target');
  if (!isTargetKey(s.target)) return bad('msg.sip.target is missing or not a target');
  if (typeof s.destination !== 'string' || s.destination.length === 0 || s.destination.length > 2100) return bad('msg.sip.destination is missing');
  let tried: TargetKey[] = [];
  if (Array.isArray(s.tried) && s.tried.length <= MAX_TARGETS_IN_MSG && s.tried.every(isTargetKey)) tried = (s.tried as TargetKey[]).map(keyOf);
  const current = keyOf(s.target);
  const last = tried[tried.length - 1];
  if (!last || last.transport !== current.transport || last.address !== current.address || last.port !== current.port) tried.push(current);
  const attempt = typeof s.attempt === 'number' && Number.isInteger(s.attempt) && s.attempt > 0 ? s.attempt : tried.length;
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
  };
}

/** The failover state carried in msg.sip. */
export function failoverState(sip: SipMsgState): FailoverState {
  return { destination: sip.destination, targets: sip.targets, tried: sip.tried };
}

/** A short target text for status: "udp 192.0.2.1:5060". */
export function targetText(t: TargetKey): string {
  return `${t.transport} ${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}`;
}

/** A success status, turned yellow with `note` appended while the resolver's state store is down (work goes on from memory). */
export function withStoreNote(resolver: ResolverConfigNode | SipLocateError, status: NodeStatus, note: string): NodeStatus {
  if (resolver instanceof SipLocateError || resolver.storeStatus()?.state !== 'down') return status;
  return { fill: 'yellow', shape: status.shape, text: `${status.text ?? ''} · ${note}` };
}

/**
 * Least time between two status updates of one node, ms. Node-RED passes every status to every open editor
 * at no more than 1,000 messages a second per connection and queues the rest in memory, so a per-message
 * status at a few thousand messages a second grows the runtime's heap without bound.
 */
export const STATUS_INTERVAL_MS = 250;

/**
 * A status setter that lets one update through per interval and always ends on the latest one.
 * A function is only called for the updates that are shown, so dropped ones cost nothing to format.
 */
export function throttledStatus(node: Node, intervalMs = STATUS_INTERVAL_MS): (status: NodeStatus | (() => NodeStatus)) => void {
  let last = -Infinity;
  let pending: NodeStatus | (() => NodeStatus) | undefined;
  const show = (s: NodeStatus | (() => NodeStatus)): void => node.status(typeof s === 'function' ? s() : s);
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    timer = undefined;
    if (!pending) return;
    last = Date.now();
    const s = pending;
    pending = undefined;
    show(s);
  };
  node.on('close', (_removed: boolean, done: () => void) => {
    clearTimeout(timer);
    timer = undefined;
    pending = undefined;
    done();
  });
  return (status) => {
    const now = Date.now();
    if (!timer && now - last >= intervalMs) {
      last = now;
      show(status);
      return;
    }
    pending = status;
    timer ??= setTimeout(flush, Math.max(0, intervalMs - (now - last)));
  };
}

/** The status for an error code. */
export function errorStatus(code: string): NodeStatus {
  return { fill: 'red', shape: 'ring', text: code };
}

/** Converts anything thrown into the { code, message } of msg.sip.error. */
export function errorOf(err: unknown): { code: string; message: string } {
  const e = unexpected(err);
  return { code: e.code, message: e.message };
}

/**
 * Finds the node's sip-resolver and registers with it until the node closes; returns it, or the error to report.
 * `noResolverStatus` (an i18n key) is shown when there is none; undefined when the resolver is optional.
 */
export function attachResolver(RED: NodeAPI, node: Node, id: unknown, noResolverStatus?: string): ResolverConfigNode | SipLocateError {
  const resolver = resolverOf((nid) => RED.nodes.getNode(nid), id);
  if (resolver instanceof SipLocateError) {
    if (noResolverStatus) node.status(errorStatus(noResolverStatus));
    return resolver;
  }
  resolver.register(node);
  node.on('close', (_removed: boolean, done: () => void) => {
    resolver.deregister(node);
    done();
  });
  return resolver;
}
