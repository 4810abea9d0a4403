/** Finding a user node's sip-resolver config node, and its locator, or the error to report. */
import { SipLocateError } from '../core/errors';
import type { Locator, LocateResult } from '../core/types';
import type { StoreStatus } from '../store/types';
import type { Node, NodeAPI } from 'node-red';
import { errorStatus } from './node-status';

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
