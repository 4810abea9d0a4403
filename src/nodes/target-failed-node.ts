/** The sip-target-failed node: marks msg.sip.target failed and hands out the next target (or confirms it with msg.sip.ok). */
import { SipLocateError } from '../core/errors';
import type { NodeMessage, Red, RedNode } from './red';
import { attachResolver, errorOf, errorStatus, failoverState, failureOf, keyOf, locatorOf, readSipState, targetText, withStoreNote, throttledStatus } from './shared';

/** The properties the editor saves for a sip-target-failed node. */
export interface TargetFailedConfig {
  id: string;
  name?: string;
  resolver?: string;
  reason?: string;
  raiseErrors?: boolean;
}

/** Registers the sip-target-failed node type. */
export function registerTargetFailed(RED: Red): void {
  function SipTargetFailedNode(this: RedNode, config: TargetFailedConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const resolver = attachResolver(RED, node, config.resolver, 'sip-target-failed.status.noResolver');
    const status = throttledStatus(node);
    const text = { confirmed: RED._('sip-target-failed.status.confirmed'), memoryOnly: RED._('sip-target-failed.status.memoryOnly') };
    const defaultReason = config.reason || 'transport';

    node.on('input', (msg: NodeMessage, send, done) => {
      const toOutput2 = (err: unknown): void => {
        const error = errorOf(err);
        const sip = typeof msg.sip === 'object' && msg.sip !== null && !Array.isArray(msg.sip) ? (msg.sip as Record<string, unknown>) : {};
        msg.sip = { ...sip, error };
        status(errorStatus(error.code));
        send([null, msg]);
        if (config.raiseErrors) done(new Error(`${error.code}: ${error.message}`));
        else done();
      };
      try {
        const locator = locatorOf(resolver);
        if (locator instanceof SipLocateError) return toOutput2(locator);
        const sip = readSipState(msg.sip);
        if (sip instanceof SipLocateError) return toOutput2(sip);
        if (sip.ok === true) {
          locator.markSucceeded(keyOf(sip.target), sip.destination);
          delete sip.ok;
          msg.sip = sip;
          const confirmed = sip.target;
          status(() => withStoreNote(resolver, { fill: 'green', shape: 'dot', text: `${targetText(confirmed)} ${text.confirmed}` }, text.memoryOnly));
          send([msg, null]);
          return done();
        }
        const failure = failureOf(sip, defaultReason);
        if (!failure) return toOutput2(new SipLocateError('EINVALIDMSG', `msg.sip.failure must be "transport", "timeout" or "503" (got ${JSON.stringify(sip.failure).slice(0, 30)}).`));
        const next = locator.failover(failoverState(sip), failure);
        delete sip.failure;
        delete sip.retryAfter;
        delete sip.response;
        delete sip.error;
        if (!next) {
          msg.sip = sip;
          return toOutput2(new SipLocateError('EEXHAUSTED', `All ${sip.targets.length} targets for ${sip.destination} failed (${sip.tried.length} tried).`));
        }
        sip.target = next;
        sip.tried = [...sip.tried, keyOf(next)];
        sip.attempt += 1;
        const pinned = locator.pinnedTarget(sip.destination);
        sip.sticky = !!pinned && pinned.address === next.address && pinned.port === next.port && pinned.transport === next.transport;
        msg.sip = sip;
        status(() => ({ fill: 'yellow', shape: 'ring', text: `${failure.reason} -> ${targetText(next)}` }));
        send([msg, null]);
        done();
      } catch (err) {
        toOutput2(err);
      }
    });
  }
  RED.nodes.registerType('sip-target-failed', SipTargetFailedNode as unknown as (this: RedNode, config: never) => void);
}
