/** The sip-options node: probes msg.sip.target with OPTIONS; output 1 on a final response, output 2 on failure. */
import { SipLocateError } from '../core/errors';
import { sendOptions, type ProbeStats } from '../probe/prober';
import type { NodeMessage, Red, RedNode } from './red';
import { attachResolver, errorOf, errorStatus, keyOf, locatorOf, readSipState, targetText, throttledStatus } from './shared';

/** The properties the editor saves for a sip-options node. */
export interface OptionsConfig {
  id: string;
  name?: string;
  resolver?: string;
  timeout?: number | string;
  t1?: number | string;
  requestUri?: string;
  fromUser?: string;
  verifyTls?: boolean | string;
}

/** Registers the sip-options node type. */
export function registerOptions(RED: Red): void {
  function SipOptionsNode(this: RedNode & { stats?: ProbeStats }, config: OptionsConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const stats: ProbeStats = { stray: 0, malformed: 0 };
    node.stats = stats;
    const resolver = attachResolver(RED, node, config.resolver);
    const status = throttledStatus(node);
    const timeoutMs = Number(config.timeout) > 0 ? Number(config.timeout) : 32_000;
    const t1Ms = Number(config.t1) > 0 ? Number(config.t1) : 500;
    const verifyTls = !(config.verifyTls === false || config.verifyTls === 'false');

    node.on('input', (msg: NodeMessage, send, done) => {
      const sip = readSipState(msg.sip);
      if (sip instanceof SipLocateError) {
        msg.sip = { ...(typeof msg.sip === 'object' && msg.sip !== null ? (msg.sip as object) : {}), error: errorOf(sip) };
        status(errorStatus(sip.code));
        send([null, msg]);
        return done();
      }
      const target = sip.target;
      status(() => ({ fill: 'blue', shape: 'ring', text: targetText(target) }));
      sendOptions(sip.target, { timeoutMs, t1Ms, verifyTls, stats, requestUri: config.requestUri || undefined, fromUser: config.fromUser || undefined }).then((r) => {
        delete sip.failure;
        delete sip.retryAfter;
        delete sip.error;
        if (r.kind === 'response') {
          sip.response = { status: r.status, reason: r.reason, headers: r.headers };
          const locator = locatorOf(resolver);
          if (!(locator instanceof SipLocateError)) locator.markSucceeded(keyOf(sip.target), sip.destination);
          msg.sip = sip;
          status(() => ({ fill: 'green', shape: 'dot', text: `${r.status} ${targetText(target)}` }));
          send([msg, null]);
        } else {
          sip.failure = r.failure;
          if (r.retryAfter !== undefined) sip.retryAfter = r.retryAfter;
          if (r.status !== undefined) sip.response = { status: r.status, reason: 'Service Unavailable', headers: {} };
          else delete sip.response;
          sip.error = { code: r.code, message: r.message };
          msg.sip = sip;
          status(() => ({ fill: 'red', shape: 'ring', text: `${r.failure} ${targetText(target)}` }));
          send([null, msg]);
        }
        done();
      }, (err: unknown) => {
        msg.sip = { ...sip, error: errorOf(err), failure: 'transport' };
        send([null, msg]);
        done();
      });
    });
  }
  RED.nodes.registerType('sip-options', SipOptionsNode as unknown as (this: RedNode, config: never) => void);
}
