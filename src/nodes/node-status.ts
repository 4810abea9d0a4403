/**
 * Node status texts and the throttle that keeps per-message status updates from flooding the editor.
 *
 * The one rule for status text (the core nodes' way): a status names a key under `<type>.status` in the showing
 * node's OWN catalog (nodes/locales/<lang>/<type>.json). Without values the key itself is the text, and the editor
 * translates it into each viewer's language; with values the runtime fills them in with RED._. An error code
 * (EINVALIDURI, ...) is shown as it is. Logs go through RED._ too. A node never shows a key of another node's catalog:
 * the resolver tells its users what happened (ResolverNotice) and each user writes its own status.
 */
import type { Node, NodeStatus } from 'node-red';

/** Every status name each node can show; each is a key `<type>.status.<name>` in en-US and de (a test checks both). */
export const STATUS_NAMES = {
  'sip-locate': ['noResolver', 'located', 'locatedSticky', 'memoryOnly', 'resolverClosed', 'storeDown', 'storeUp'],
  'sip-target-failed': ['noResolver', 'confirmed', 'failover', 'memoryOnly', 'resolverClosed', 'storeDown', 'storeUp'],
  'sip-options': ['probing', 'answered', 'failed', 'resolverClosed', 'storeDown', 'storeUp'],
  'sip-events': ['noResolver', 'sent', 'dropped', 'resolverClosed', 'storeDown', 'storeUp'],
} as const;

/** A node type that shows statuses. */
export type StatusNodeType = keyof typeof STATUS_NAMES;
/** A status name of one node type. */
export type StatusName<T extends StatusNodeType> = (typeof STATUS_NAMES)[T][number];
/** What a status text is filled in with. */
export type StatusValues = Record<string, string | number>;

/** The runtime's translator of a node module (RED._, bound to the module's catalog). */
export interface Translator {
  _(key: string, values?: StatusValues): string;
}

/** True when `type` is a node type with statuses of its own. */
export function isStatusNodeType(type: string): type is StatusNodeType {
  return Object.prototype.hasOwnProperty.call(STATUS_NAMES, type);
}

/** The text of status `name` of a `type` node: the catalog key itself, or with values its runtime translation. */
export function statusText<T extends StatusNodeType>(
  RED: Translator,
  type: T,
  name: StatusName<T>,
  values?: StatusValues,
): string {
  const key = `${type}.status.${name}`;
  return values ? RED._(key, values) : key;
}

/** A success status, turned yellow with `note` appended while the resolver's state store is down (work goes on from memory). */
export function withStoreNote(storeDown: boolean, status: NodeStatus, note: string): NodeStatus {
  if (!storeDown) return status;
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
export function throttledStatus(
  node: Node,
  intervalMs = STATUS_INTERVAL_MS,
): (status: NodeStatus | (() => NodeStatus)) => void {
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
