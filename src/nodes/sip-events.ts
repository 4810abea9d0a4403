/** The sip-events node: one message per resolver event (output 1); operator commands in, answers out (output 2). */
import { SipLocateError } from '../core/errors';
import { metricsFor } from '../metrics/registry';
import { readTargetRequest, resolverState, sipLocatorOf } from './operator';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { eventPayload, MAX_QUEUED_EVENTS } from './event-payload';
import { errorOf } from './msg-contract';
import { errorStatus, statusText, throttledStatus } from './node-status';
import { attachResolver } from './resolver-lookup';

/** The properties the editor saves for a sip-events node. */
interface EventsConfig extends NodeDef {
  resolver?: string;
  /** Also hand failed commands to Catch nodes (done(err)). */
  raiseErrors?: boolean;
}

/** Events sent per turn of the event loop. */
const SEND_STEP = 1000;
const COMMANDS = ['drain', 'disable', 'enable', 'reset', 'state', 'metrics'] as const;
type Command = (typeof COMMANDS)[number];

/** Registers the sip-events node type. */
function registerEvents(RED: NodeAPI): void {
  function SipEventsNode(this: Node, config: EventsConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const resolver = attachResolver(RED, node, 'sip-events', config.resolver, true);
    const status = throttledStatus(node);
    const queue: NodeMessage[] = [];
    let dropped = 0;
    let sent = 0;
    let closed = false;
    let flushing: NodeJS.Immediate | undefined;
    const resolverId = typeof config.resolver === 'string' ? config.resolver : '';

    const flush = (): void => {
      flushing = undefined;
      if (closed) return;
      for (const msg of queue.splice(0, SEND_STEP)) node.send?.([msg, null]);
      if (queue.length > 0) flushing = setImmediate(flush);
      status(() => ({
        fill: dropped > 0 ? 'yellow' : 'green',
        shape: 'dot',
        text:
          dropped > 0
            ? statusText(RED, 'sip-events', 'dropped', { sent, dropped })
            : statusText(RED, 'sip-events', 'sent', { sent }),
      }));
    };

    const sip = resolver instanceof SipLocateError ? undefined : sipLocatorOf(resolver.locator);
    const stop = sip?.events.on((event) => {
      if (closed) return;
      if (queue.length >= MAX_QUEUED_EVENTS) {
        dropped++;
        return;
      }
      sent++;
      queue.push({ topic: `sip-resolver/${event.op}`, payload: eventPayload(event, resolverId) });
      flushing ??= setImmediate(flush);
    });
    if (!(resolver instanceof SipLocateError) && !resolver.configError && !sip) node.status(errorStatus('ECLOSED'));

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      stop?.();
      if (flushing) clearImmediate(flushing);
      flushing = undefined;
      queue.length = 0;
      done();
    });

    node.on('input', (msg: NodeMessage, send, done) => {
      const answer = (payload: unknown, extra: Record<string, unknown> = {}, raised?: Error): void => {
        if (closed) return;
        Object.assign(msg, extra);
        msg.payload = payload;
        send([null, msg]);
        done(raised);
      };
      // A failed command is answered on output 2; with "raise errors" on, Catch nodes get it too.
      const fail = (err: unknown): void => {
        const error = errorOf(err);
        status(errorStatus(error.code));
        answer({ ok: false, error }, {}, config.raiseErrors ? new Error(`${error.code}: ${error.message}`) : undefined);
      };
      const payload =
        typeof msg.payload === 'object' && msg.payload !== null && !Array.isArray(msg.payload)
          ? (msg.payload as Record<string, unknown>)
          : {};
      const command = payload.command ?? msg.topic;
      if (typeof command !== 'string' || !(COMMANDS as readonly string[]).includes(command)) {
        return fail(
          new SipLocateError(
            'EINVALIDMSG',
            `Send msg.payload.command (or msg.topic) as one of ${COMMANDS.join(', ')}.`,
          ),
        );
      }
      if (resolver instanceof SipLocateError) return fail(resolver);
      if (resolver.configError) return fail(resolver.configError);
      const locator = resolver.locator;
      const live = sipLocatorOf(locator);
      if (!locator || !live)
        return fail(new SipLocateError('ECLOSED', 'The sip-resolver configuration is not running.'));
      try {
        switch (command as Command) {
          case 'drain':
          case 'disable':
          case 'enable': {
            const request = readTargetRequest(payload.target !== undefined ? payload : { target: payload }, command);
            if (request instanceof SipLocateError) return fail(request);
            const record = live.setTargetState(request.target, request.state, request.seconds);
            return answer({ ok: true, command, target: record });
          }
          case 'reset':
            locator.resetState();
            return answer({ ok: true, command });
          case 'state':
            return answer(resolverState(resolver, locator));
          case 'metrics':
            metricsFor(live)
              .collect()
              .then(
                ({ text, json, contentType }) =>
                  answer(text, { metrics: json, headers: { 'content-type': contentType } }),
                fail,
              );
            return;
        }
      } catch (err) {
        fail(err);
      }
    });
  }
  RED.nodes.registerType('sip-events', SipEventsNode);
}

export = registerEvents;
