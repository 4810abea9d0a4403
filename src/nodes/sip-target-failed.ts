/**
 * The sip-target-failed node: marks msg.sip.target failed and hands out the next target (or confirms it with msg.sip.ok).
 * Also takes a report from outside the flow ({uri, failed, tried?, status?, retryAfter?, reason?, ok?}), as a SIP proxy sends it.
 */
import { SipLocateError } from '../core/errors';
import { decide, failoverPolicyOf, noFailover, type Decision, type Outcome } from '../core/failover/policy';
import { isReport, parseReport } from '../core/failover/report';
import type { Failure, ReportResult, Target } from '../core/types';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { targetKey, targetLabel } from '../core/target';
import { errorOf, failoverState, readSipState, type SipMsgState } from './msg-contract';
import { errorStatus, statusText, withStoreNote, throttledStatus } from './node-status';
import { attachResolver, locatorOf, storeIsDown } from './resolver-lookup';

/** The properties the editor saves for a sip-target-failed node. */
interface TargetFailedConfig extends NodeDef {
  resolver?: string;
  reason?: string;
  /** Status codes that move on to the next target ("503", "408, 480, 5xx"); default 503. */
  failoverCodes?: string;
  raiseErrors?: boolean;
}

/** What msg.sip.failure (or the node's default reason) asks for, or undefined when it is not a reason or status code. */
function outcomeOf(failure: unknown, retryAfter: unknown): Outcome | undefined {
  if (failure === 'transport' || failure === 'timeout') return { reason: failure };
  const status =
    failure === '503'
      ? 503
      : typeof failure === 'number'
        ? failure
        : typeof failure === 'string' && /^\d{3}$/.test(failure)
          ? Number(failure)
          : NaN;
  if (!Number.isInteger(status) || status < 100 || status > 699) return undefined;
  const ra = Number(retryAfter);
  return Number.isFinite(ra) && ra > 0 ? { status, retryAfter: ra } : { status };
}

function failureText(f: Failure): string {
  return f.status !== undefined ? String(f.status) : f.reason;
}

/** Registers the sip-target-failed node type. */
function registerTargetFailed(RED: NodeAPI): void {
  function SipTargetFailedNode(this: Node, config: TargetFailedConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const resolver = attachResolver(RED, node, 'sip-target-failed', config.resolver, true);
    const status = throttledStatus(node);
    const defaultReason = config.reason || 'transport';
    const policy = failoverPolicyOf(config.failoverCodes);
    if (policy instanceof SipLocateError) node.status(errorStatus(policy.code));
    let closed = false;
    // Reports wait for a locate when the cache is cold: closing the node cancels them.
    const closing = new AbortController();
    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      closing.abort();
      done();
    });

    node.on('input', (msg: NodeMessage, send, done) => {
      const toOutput2 = (err: unknown): void => {
        const error = errorOf(err);
        const sip =
          typeof msg.sip === 'object' && msg.sip !== null && !Array.isArray(msg.sip)
            ? (msg.sip as Record<string, unknown>)
            : {};
        msg.sip = { ...sip, error };
        status(errorStatus(error.code));
        send([null, msg]);
        if (config.raiseErrors) done(new Error(`${error.code}: ${error.message}`));
        else done();
      };
      const confirmed = (sip: SipMsgState): void => {
        msg.sip = sip;
        const target = sip.target;
        status(() => {
          const shown = {
            fill: 'green' as const,
            shape: 'dot' as const,
            text: statusText(RED, 'sip-target-failed', 'confirmed', { target: targetLabel(target) }),
          };
          return withStoreNote(storeIsDown(resolver), shown, statusText(RED, 'sip-target-failed', 'memoryOnly', {}));
        });
        send([msg, null]);
        done();
      };
      try {
        const locator = locatorOf(resolver);
        if (locator instanceof SipLocateError) return toOutput2(locator);
        if (policy instanceof SipLocateError) return toOutput2(policy);
        const rules = policy;
        if (isReport(msg.sip)) {
          const report = parseReport(msg.sip);
          if (report instanceof SipLocateError) return toOutput2(report);
          const fallback =
            report.status === undefined && report.reason === undefined && !report.ok
              ? outcomeOf(defaultReason, undefined)
              : undefined;
          locator
            .failoverFrom(report.uri, report.failed, {
              tried: report.tried,
              ok: report.ok,
              failoverCodes: rules,
              signal: closing.signal,
              key: report.key,
              status: report.status ?? fallback?.status,
              retryAfter: report.retryAfter,
              reason: report.reason ?? fallback?.reason,
            })
            .then(
              (r: ReportResult) => {
                if (closed) return done();
                if (!r.target) {
                  msg.sip = {
                    uri: r.uri,
                    destination: r.destination,
                    targets: r.targets,
                    tried: r.tried,
                    attempt: r.tried.length,
                    sticky: false,
                  };
                  return toOutput2(
                    new SipLocateError(
                      'EEXHAUSTED',
                      `All ${r.targets.length} targets for ${r.destination} failed (${r.tried.length} tried).`,
                    ),
                  );
                }
                const sip: SipMsgState = {
                  uri: r.uri,
                  destination: r.destination,
                  target: r.target,
                  targets: r.targets,
                  tried: r.tried,
                  attempt: r.tried.length,
                  sticky: r.sticky,
                  ...(r.affinityKey !== undefined ? { affinityKey: r.affinityKey } : {}),
                };
                if (r.confirmed) return confirmed(sip);
                const next: Target = r.target;
                msg.sip = sip;
                status(() => ({
                  fill: 'yellow',
                  shape: 'ring',
                  text: statusText(RED, 'sip-target-failed', 'failover', {
                    failure: String(report.status ?? report.reason ?? defaultReason),
                    target: targetLabel(next),
                  }),
                }));
                send([msg, null]);
                done();
              },
              (err: unknown) => {
                if (closed) return done();
                toOutput2(err);
              },
            );
          return;
        }
        const sip = readSipState(msg.sip);
        if (sip instanceof SipLocateError) return toOutput2(sip);
        let decision: Decision;
        if (sip.ok === true) decision = { action: 'confirm' };
        else {
          const outcome = outcomeOf(sip.failure ?? defaultReason, sip.retryAfter);
          if (!outcome)
            return toOutput2(
              new SipLocateError(
                'EINVALIDMSG',
                `msg.sip.failure must be "transport", "timeout" or a SIP status code such as 503 (got ${JSON.stringify(sip.failure).slice(0, 30)}).`,
              ),
            );
          decision = decide(rules, outcome);
        }
        if (decision.action === 'confirm') {
          locator.markSucceeded(targetKey(sip.target), sip.destination, sip.affinityKey);
          delete sip.ok;
          delete sip.failure;
          return confirmed(sip);
        }
        if (decision.action === 'none') return toOutput2(noFailover(decision.status, rules));
        const failure = decision.failure;
        const next = locator.failover(failoverState(sip), failure);
        delete sip.failure;
        delete sip.retryAfter;
        delete sip.response;
        delete sip.error;
        if (!next) {
          msg.sip = sip;
          return toOutput2(
            new SipLocateError(
              'EEXHAUSTED',
              `All ${sip.targets.length} targets for ${sip.destination} failed (${sip.tried.length} tried).`,
            ),
          );
        }
        sip.target = next;
        sip.tried = [...sip.tried, targetKey(next)];
        sip.attempt += 1;
        const pinned = locator.pinnedTarget(sip.destination);
        sip.sticky =
          !!pinned &&
          pinned.address === next.address &&
          pinned.port === next.port &&
          pinned.transport === next.transport;
        msg.sip = sip;
        status(() => ({
          fill: 'yellow',
          shape: 'ring',
          text: statusText(RED, 'sip-target-failed', 'failover', {
            failure: failureText(failure),
            target: targetLabel(next),
          }),
        }));
        send([msg, null]);
        done();
      } catch (err) {
        toOutput2(err);
      }
    });
  }
  RED.nodes.registerType('sip-target-failed', SipTargetFailedNode);
}

export = registerTargetFailed;
