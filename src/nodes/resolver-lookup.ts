/** Finding a user node's sip-resolver config node, and its locator, or the error to report. */
import { SipLocateError } from '../core/errors';
import type { LocateResult } from '../core/types';
import type { Locator } from '../core/locator/api';
import type { StoreStatus } from '../store/types';
import type { Node, NodeAPI, NodeStatus } from 'node-red';
import { errorStatus, type StatusNodeType, type Translator } from './node-status';

/** The status names every user node has for resolver notices. */
export const NOTICE_STATUS_NAMES = ['resolverClosed', 'storeDown', 'storeUp'] as const;
type NoticeStatusName = (typeof NOTICE_STATUS_NAMES)[number];

/** The secrets a sip-resolver keeps in Node-RED's credentials store. */
export interface ResolverCredentials {
  redisPassword?: string;
}

/** What a resolver tells its user nodes; each user shows it in its own words (its own catalog). */
export type ResolverNotice =
  { kind: 'closed' } | { kind: 'storeDown' | 'storeUp'; store: string } | { kind: 'configError'; code: string };

/** The runtime side of a sip-resolver config node, as its users see it. */
export interface ResolverConfigNode extends Node<ResolverCredentials> {
  /** The shared locator, or undefined when the configuration is invalid. */
  locator: Locator | undefined;
  /** Why there is no locator. */
  configError: SipLocateError | undefined;
  sticky: boolean;
  /** How its state store is doing (undefined for memory). */
  storeStatus(): StoreStatus | undefined;
  /** Adds a user node; `notice` is called with what the user should show (a config error at once). */
  register(user: Node, notice: (n: ResolverNotice) => void): void;
  deregister(user: Node): void;
  /** Tells the resolver a destination was located (the sidebar's recent destinations). */
  seen(result: LocateResult): void;
}

/** The config node a user node points at, or a typed error saying what to fix. */
export function resolverOf(getNode: (id: string) => Node | null, id: unknown): ResolverConfigNode | SipLocateError {
  const node = typeof id === 'string' && id.length > 0 ? getNode(id) : null;
  if (!node || node.type !== 'sip-resolver') {
    return new SipLocateError(
      'EINVALIDOPTION',
      'No sip-resolver configuration is selected: open this node and pick or add one.',
    );
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

/** True while the resolver's state store is down (work goes on from memory). */
export function storeIsDown(resolver: ResolverConfigNode | SipLocateError): boolean {
  return !(resolver instanceof SipLocateError) && resolver.storeStatus()?.state === 'down';
}

/** The status a `type` node shows for a resolver notice, from its own catalog. */
export function noticeStatus(RED: Translator, type: StatusNodeType, notice: ResolverNotice): NodeStatus {
  // Every type lists these three in STATUS_NAMES (a test checks it against the catalogs).
  const key = (name: NoticeStatusName): string => `${type}.status.${name}`;
  switch (notice.kind) {
    case 'closed':
      return { fill: 'grey', shape: 'ring', text: key('resolverClosed') };
    case 'storeDown':
      return { fill: 'yellow', shape: 'ring', text: RED._(key('storeDown'), { kind: notice.store }) };
    case 'storeUp':
      return { fill: 'green', shape: 'dot', text: RED._(key('storeUp'), { kind: notice.store }) };
    case 'configError':
      return errorStatus(notice.code);
  }
}

/**
 * Finds the node's sip-resolver and registers with it until the node closes; returns it, or the error to report.
 * With `required`, a missing resolver shows the node's `noResolver` status.
 */
export function attachResolver(
  RED: NodeAPI,
  node: Node,
  type: StatusNodeType,
  id: unknown,
  required: boolean,
): ResolverConfigNode | SipLocateError {
  const resolver = resolverOf((nid) => RED.nodes.getNode(nid), id);
  if (resolver instanceof SipLocateError) {
    if (required) node.status(errorStatus(`${type}.status.noResolver`));
    return resolver;
  }
  resolver.register(node, (notice) => node.status(noticeStatus(RED, type, notice)));
  node.on('close', (_removed: boolean, done: () => void) => {
    resolver.deregister(node);
    done();
  });
  return resolver;
}
