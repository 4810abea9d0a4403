/** The sip-locate node: a SIP (or tel:) URI in, msg.sip with the failover order out (output 2 when nothing is found). */
import { setMaxListeners } from 'node:events';
import { SipLocateError } from '../core/errors';
import { checkAffinityKey } from '../core/rfc3263/affinity';
import type { LocateResult } from '../core/types';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorOf, stateFromResult } from './msg-contract';
import { targetLabel } from '../core/target';
import { errorStatus, statusText, withStoreNote, throttledStatus } from './node-status';
import { attachResolver, locatorOf, storeIsDown } from './resolver-lookup';
import { sipLocatorOf } from './operator';
import { metricsFor } from '../metrics/registry';

/** The properties the editor saves for a sip-locate node. */
interface LocateConfig extends NodeDef {
  resolver?: string;
  uri?: string;
  uriType?: string;
  /** Where the affinity key comes from ('' = no key): a msg/flow/global/env property, a string or a JSONata expression. */
  key?: string;
  keyType?: string;
  raiseErrors?: boolean;
}

/** Registers the sip-locate node type. */
function registerLocate(RED: NodeAPI): void {
  function SipLocateNode(this: Node, config: LocateConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const resolver = attachResolver(RED, node, 'sip-locate', config.resolver, true);
    const status = throttledStatus(node);
    const property = config.uri || 'payload';
    const propertyType = config.uriType || 'msg';
    const keyProperty = (config.key ?? '').trim();
    const keyType = config.keyType || 'msg';
    // Closing cancels the locates in flight; nothing is sent and done() is not called after that.
    const inFlight = new AbortController();
    setMaxListeners(0, inFlight.signal); // one listener per locate in flight, each removed when it ends
    node.on('close', (_removed: boolean, done: () => void) => {
      inFlight.abort();
      done();
    });

    node.on('input', (msg: NodeMessage, send, done) => {
      const t0 = performance.now();
      // The lookup latency histogram (sip_locate_lookup_duration_seconds) of this node's resolver.
      const observe = (): void => {
        const live = sipLocatorOf(locator instanceof SipLocateError ? undefined : locator);
        if (live) metricsFor(live).observeLookup(performance.now() - t0);
      };
      const fail = (err: unknown, uri?: unknown): void => {
        observe();
        const error = errorOf(err);
        msg.sip = { uri: typeof uri === 'string' ? uri : undefined, error };
        status(errorStatus(error.code));
        send([null, msg]);
        if (config.raiseErrors) done(new Error(`${error.code}: ${error.message}`));
        else done();
      };
      const locator = locatorOf(resolver);
      if (locator instanceof SipLocateError) return fail(locator);
      const found = (result: LocateResult): void => {
        observe();
        if (!(resolver instanceof SipLocateError)) resolver.seen(result);
        // A tel: URI went through ENUM: msg.sip.enum says which number, record and SIP URI.
        msg.sip = result.enum
          ? { ...stateFromResult(result), stale: result.stale, enum: result.enum }
          : { ...stateFromResult(result), stale: result.stale };
        status(() => {
          const target = targetLabel(result.targets[0]!);
          const text = statusText(RED, 'sip-locate', result.sticky ? 'locatedSticky' : 'located', { target });
          const shown = { fill: 'green' as const, shape: result.sticky ? ('dot' as const) : ('ring' as const), text };
          return withStoreNote(storeIsDown(resolver), shown, statusText(RED, 'sip-locate', 'memoryOnly', {}));
        });
        send([msg, null]);
        done();
      };
      const locateKeyed = (value: unknown, key: string | undefined): void => {
        // Fresh DNS data answers at once; otherwise ask DNS.
        let hit: LocateResult | undefined;
        try {
          hit = locator.locateCached(value as string, { key });
        } catch (err) {
          return fail(err, value);
        }
        if (hit) return found(hit);
        locator.locate(value as string, { signal: inFlight.signal, key }).then(
          (result) => {
            if (!inFlight.signal.aborted) found(result);
          },
          (e: unknown) => {
            if (!inFlight.signal.aborted) fail(e, value);
          },
        );
      };
      // The affinity key, when the node names one: checked here, so a bad one is EINVALIDMSG on output 2.
      const locate = (value: unknown): void => {
        if (!keyProperty) return locateKeyed(value, undefined);
        readProperty(RED, node, msg, keyProperty, keyType, (err, raw) => {
          if (err)
            return fail(
              new SipLocateError(
                'EINVALIDMSG',
                `Could not read the affinity key from ${keyType} ${keyProperty}: ${err.message}`,
              ),
              value,
            );
          let key: string | undefined;
          try {
            key = checkAffinityKey(raw, 'EINVALIDMSG');
          } catch (e) {
            return fail(e, value);
          }
          locateKeyed(value, key);
        });
      };
      readProperty(RED, node, msg, property, propertyType, (err, value) => {
        if (err)
          return fail(
            new SipLocateError(
              'EINVALIDMSG',
              `Could not read the URI from ${propertyType} ${property}: ${err.message}`,
            ),
          );
        locate(value);
      });
    });
  }
  RED.nodes.registerType('sip-locate', SipLocateNode);
}

/** Reads a typed property (msg at once; flow, global, env, str, JSONata through Node-RED), calling back exactly once. */
function readProperty(
  RED: NodeAPI,
  node: Node,
  msg: NodeMessage,
  property: string,
  type: string,
  done: (err: Error | null, value: unknown) => void,
): void {
  if (type === 'msg') {
    let value: unknown;
    try {
      value = RED.util.getMessageProperty(msg, property);
    } catch (err) {
      return done(err instanceof Error ? err : new Error(String(err)), undefined);
    }
    return done(null, value);
  }
  let called = false;
  try {
    RED.util.evaluateNodeProperty(property, type, node, msg, (err, value) => {
      if (called) return;
      called = true;
      done(err, value);
    });
  } catch (err) {
    if (!called) {
      called = true;
      done(err instanceof Error ? err : new Error(String(err)), undefined);
    }
  }
}

export = registerLocate;
