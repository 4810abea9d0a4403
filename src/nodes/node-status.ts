/** Node status texts and the throttle that keeps per-message status updates from flooding the editor. */
import type { Node, NodeStatus } from 'node-red';
import type { TargetKey } from '../core/types';
import { SipLocateError } from '../core/errors';
import { targetLabel } from '../core/target';
import type { ResolverConfigNode } from './resolver-lookup';

/** A short target text for status: "udp 192.0.2.1:5060" (core/target.ts's targetLabel). */
export const targetText: (t: TargetKey) => string = targetLabel;

/** A success status, turned yellow with `note` appended while the resolver's state store is down (work goes on from memory). */
export function withStoreNote(resolver: ResolverConfigNode | SipLocateError, status: NodeStatus, note: string): NodeStatus {
  if (resolver instanceof SipLocateError || resolver.storeStatus()?.state !== 'down') return status;
  return { fill: 'yellow', shape: status.shape, text: `${status.text ?? ''} · ${note}` };
}

/** The status for an error code. */
export function errorStatus(code: string): NodeStatus {
  return { fill: 'red', shape: 'ring', text: code };
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
