/** The sip-options node: probes msg.sip.target with OPTIONS; output 1 on a final response, output 2 on failure. */
import { SipLocateError } from '../core/errors';
import { failoverPolicyOf, type FailoverPolicy } from '../core/failover/policy';
import { targetId, targetKey, targetLabel } from '../core/target';
import { checkProbeOptions, probeTarget, sipDomainOf } from '../probe/check';
import { sendOptions, type ProbeStats } from '../probe/prober';
import type { TlsIdentity } from '../probe/tls-identity';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { RecentlyConfirmed } from './recently-confirmed';
import { errorOf, readSipState } from './msg-contract';
import { errorStatus, statusText, throttledStatus } from './node-status';
import { attachResolver, locatorOf } from './resolver-lookup';

/** The properties the editor saves for a sip-options node. */
interface OptionsConfig extends NodeDef {
  resolver?: string;
  timeout?: number | string;
  t1?: number | string;
  requestUri?: string;
  fromUser?: string;
  verifyTls?: boolean | string;
  /** Whose name the tls/wss certificate must hold: 'domain' (of msg.sip.uri, RFC 5922; default), 'target' or 'either'. */
  tlsIdentity?: string;
  /** Status codes that go to output 2 to move on to the next target ("503", "408, 480, 5xx"); default 503. */
  failoverCodes?: string;
  /** Seconds a target this node confirmed is passed on without a new probe (0: probe every message). */
  skipIfConfirmedWithin?: number | string;
  /** Also hand failures to Catch nodes (done(err)); output 2 gets them either way. */
  raiseErrors?: boolean;
}

/** Registers the sip-options node type. */
function registerOptions(RED: NodeAPI): void {
  function SipOptionsNode(this: Node & { stats?: ProbeStats }, config: OptionsConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const stats: ProbeStats = { stray: 0, malformed: 0 };
    node.stats = stats;
    const resolver = attachResolver(RED, node, 'sip-options', config.resolver, false);
    const status = throttledStatus(node);
    const timeoutMs = Number(config.timeout) > 0 ? Number(config.timeout) : 32_000;
    const t1Ms = Number(config.t1) > 0 ? Number(config.t1) : 500;
    const verifyTls = !(config.verifyTls === false || config.verifyTls === 'false');
    const policy = failoverPolicyOf(config.failoverCodes);
    if (policy instanceof SipLocateError) node.status(errorStatus(policy.code));
    const skipMs = Number(config.skipIfConfirmedWithin) > 0 ? Number(config.skipIfConfirmedWithin) * 1000 : 0;
    const recent = new RecentlyConfirmed(skipMs);
    const requestUri = config.requestUri || undefined;
    const fromUser = config.fromUser || undefined;
    const tlsIdentity = (config.tlsIdentity || 'domain') as TlsIdentity;
    const configError =
      policy instanceof SipLocateError ? policy : checkProbeOptions({ requestUri, fromUser, tlsIdentity });
    // Closing aborts the probes in flight; nothing is sent and done() is not called after that.
    const inFlight = new AbortController();
    node.on('close', (_removed: boolean, done: () => void) => {
      inFlight.abort();
      done();
    });

    node.on('input', (msg: NodeMessage, send, done) => {
      // Every failure leaves on output 2; with "raise errors" on, Catch nodes get it too.
      const failed = (text: string): void => {
        send([null, msg]);
        if (config.raiseErrors) done(new Error(text));
        else done();
      };
      const fail = (error: SipLocateError): void => {
        msg.sip = { ...(typeof msg.sip === 'object' && msg.sip !== null ? msg.sip : {}), error: errorOf(error) };
        status(errorStatus(error.code));
        failed(`${error.code}: ${error.message}`);
      };
      if (configError) return fail(configError);
      const rules: FailoverPolicy = policy as FailoverPolicy;
      const sip = readSipState(msg.sip);
      if (sip instanceof SipLocateError) return fail(sip);
      const target = probeTarget(sip.target);
      if (target instanceof SipLocateError) return fail(target);
      // RFC 5922: over tls and wss the certificate is checked against the SIP domain of the located URI.
      const secure = target.transport === 'tls' || target.transport === 'wss';
      const domain = secure && tlsIdentity !== 'target' ? sipDomainOf(sip.uri) : undefined;
      if (domain instanceof SipLocateError) return fail(domain);
      const id = targetId(target);
      if (skipMs > 0 && sip.target.mark === undefined && recent.fresh(id)) {
        // Confirmed a moment ago and not marked when it was listed: pass it on without a probe.
        delete sip.failure;
        delete sip.retryAfter;
        delete sip.error;
        delete sip.response;
        msg.sip = { ...sip, skipped: true };
        send([msg, null]);
        return done();
      }
      status(() => ({
        fill: 'blue',
        shape: 'ring',
        text: statusText(RED, 'sip-options', 'probing', { target: targetLabel(target) }),
      }));
      sendOptions(target, {
        timeoutMs,
        t1Ms,
        verifyTls,
        tlsIdentity,
        domain,
        stats,
        requestUri,
        fromUser,
        signal: inFlight.signal,
      }).then(
        (r) => {
          if (inFlight.signal.aborted) return;
          delete sip.failure;
          delete sip.retryAfter;
          delete sip.error;
          const answer =
            r.kind === 'response'
              ? r
              : r.status === 503 && !rules.fails(503)
                ? { status: 503, reason: 'Service Unavailable', headers: {} }
                : undefined;
          if (answer && rules.fails(answer.status)) {
            // A final response the failoverCodes say to move on from.
            recent.forget(id);
            sip.failure = answer.status;
            sip.response = { status: answer.status, reason: answer.reason, headers: answer.headers };
            msg.sip = sip;
            status(() => ({
              fill: 'red',
              shape: 'ring',
              text: statusText(RED, 'sip-options', 'failed', { failure: answer.status, target: targetLabel(target) }),
            }));
            return failed(
              `${targetLabel(target)} answered ${answer.status} ${answer.reason}, one of the failover codes.`,
            );
          } else if (answer) {
            const r = answer;
            if (r.status !== 503) recent.confirm(id);
            sip.response = { status: r.status, reason: r.reason, headers: r.headers };
            const locator = locatorOf(resolver);
            if (!(locator instanceof SipLocateError) && r.status !== 503)
              locator.markSucceeded(targetKey(sip.target), sip.destination);
            msg.sip = sip;
            status(() => ({
              fill: 'green',
              shape: 'dot',
              text: statusText(RED, 'sip-options', 'answered', { status: r.status, target: targetLabel(target) }),
            }));
            send([msg, null]);
          } else if (r.kind === 'failure') {
            recent.forget(id);
            sip.failure = r.failure;
            if (r.retryAfter !== undefined) sip.retryAfter = r.retryAfter;
            if (r.status !== undefined) sip.response = { status: r.status, reason: 'Service Unavailable', headers: {} };
            else delete sip.response;
            sip.error = { code: r.code, message: r.message };
            msg.sip = sip;
            status(() => ({
              fill: 'red',
              shape: 'ring',
              text: statusText(RED, 'sip-options', 'failed', { failure: r.failure, target: targetLabel(target) }),
            }));
            return failed(`${r.code}: ${r.message}`);
          }
          done();
        },
        (err: unknown) => {
          if (inFlight.signal.aborted) return;
          const error = errorOf(err);
          msg.sip = { ...sip, error, failure: 'transport' };
          status(errorStatus(error.code));
          failed(`${error.code}: ${error.message}`);
        },
      );
    });
  }
  RED.nodes.registerType('sip-options', SipOptionsNode);
}

export = registerOptions;
