/** The sip-locate node: a SIP URI in, msg.sip with the failover order out (output 2 when nothing is found). */
import { SipLocateError } from '../core/errors';
import type { NodeMessage, Red, RedNode } from './red';
import { attachResolver, errorOf, errorStatus, locatorOf, stateFromResult, targetText, withStoreNote, throttledStatus } from './shared';

/** The properties the editor saves for a sip-locate node. */
export interface LocateConfig {
  id: string;
  name?: string;
  resolver?: string;
  uri?: string;
  uriType?: string;
  raiseErrors?: boolean;
}

/** Registers the sip-locate node type. */
export function registerLocate(RED: Red): void {
  function SipLocateNode(this: RedNode, config: LocateConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const resolver = attachResolver(RED, node, config.resolver, 'sip-locate.status.noResolver');
    const status = throttledStatus(node);
    const property = config.uri || 'payload';
    const propertyType = config.uriType || 'msg';

    node.on('input', (msg: NodeMessage, send, done) => {
      const fail = (err: unknown, uri?: unknown): void => {
        const error = errorOf(err);
        msg.sip = { uri: typeof uri === 'string' ? uri : undefined, error };
        status(errorStatus(error.code));
        send([null, msg]);
        if (config.raiseErrors) done(new Error(`${error.code}: ${error.message}`));
        else done();
      };
      const locator = locatorOf(resolver);
      if (locator instanceof SipLocateError) return fail(locator);
      try {
        RED.util.evaluateNodeProperty(property, propertyType, node, msg, (err, value) => {
          if (err) return fail(new SipLocateError('EINVALIDMSG', `Could not read the URI from ${propertyType} ${property}: ${err.message}`));
          locator.locate(value as string).then(
            (result) => {
              msg.sip = stateFromResult(result);
              status(withStoreNote(resolver, { fill: 'green', shape: result.sticky ? 'dot' : 'ring', text: targetText(result.targets[0]!) + (result.sticky ? ` (${RED._('sip-locate.status.sticky')})` : '') }, RED._('sip-locate.status.memoryOnly')));
              send([msg, null]);
              done();
            },
            (e: unknown) => fail(e, value),
          );
        });
      } catch (err) {
        fail(err);
      }
    });
  }
  RED.nodes.registerType('sip-locate', SipLocateNode as unknown as (this: RedNode, config: never) => void);
}
