/** The sip-resolver's admin HTTP routes: Try-it, state, target states, metrics and reset under /sip-resolver/:id/. */
import { checkAffinityKey } from '../core/rfc3263/affinity';
import type { NameserverState } from '../core/dns/types';
import type { SipLocator } from '../core/locator';
import { SipLocateError } from '../core/errors';
import type { Locator } from '../core/locator/api';
import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';
import { errorOf } from './msg-contract';
import type { ResolverConfigNode } from './resolver-lookup';
import { metricsFor } from '../metrics/registry';
import { readTargetRequest, resolverState, sipLocatorOf } from './operator';

/** Largest URI accepted by the Try-it endpoint. */
const MAX_TRY_URI = 2048;

/** The deployed sip-resolver with this id, if the id is well formed and names one. */
function resolverFor(RED: NodeAPI, id: unknown): ResolverConfigNode | undefined {
  if (typeof id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) return undefined;
  const node = RED.nodes.getNode(id);
  return node && node.type === 'sip-resolver' ? (node as ResolverConfigNode) : undefined;
}

/** The health of the locator's nameservers (none when its DNS client was injected). */
function nameserversOf(locator: Locator): NameserverState[] {
  return (locator as Partial<SipLocator>).dns?.nameserverStates() ?? [];
}

/** Answers 404: the sip-resolver is not deployed. */
function notDeployed(res: Response): void {
  res.status(404).json({
    code: 'ENOTDEPLOYED',
    message:
      'This sip-resolver is not deployed yet: deploy the flow, then try again. (Only deployed configurations are used, so the editor cannot make the server ask arbitrary nameservers.)',
  });
}

/** Registers the admin routes: POST try {uri, key?}, GET state, POST targets, GET metrics, POST reset, each under /sip-resolver/:id/. */
export function registerAdmin(RED: NodeAPI): void {
  RED.httpAdmin.post(
    '/sip-resolver/:id/try',
    RED.auth.needsPermission('sip-resolver.write'),
    (req: Request, res: Response) => {
      const body = req.body as { uri?: unknown; key?: unknown } | undefined;
      const uri = body && typeof body === 'object' ? body.uri : undefined;
      let key: string | undefined;
      try {
        key = checkAffinityKey(body && typeof body === 'object' ? body.key : undefined, 'EINVALIDOPTION');
      } catch (err) {
        res.status(400).json(errorOf(err));
        return;
      }
      if (typeof uri !== 'string' || uri.trim().length === 0) {
        res.status(400).json({ code: 'EINVALIDURI', message: 'Send a JSON body like {"uri": "sip:example.com"}.' });
        return;
      }
      if (uri.length > MAX_TRY_URI) {
        res.status(400).json({ code: 'EINVALIDURI', message: `The URI is longer than ${MAX_TRY_URI} characters.` });
        return;
      }
      const node = resolverFor(RED, req.params.id);
      if (!node) return notDeployed(res);
      const locator = node.locator;
      if (!locator) {
        res
          .status(409)
          .json(
            node.configError
              ? errorOf(node.configError)
              : { code: 'ECLOSED', message: 'The sip-resolver is not running.' },
          );
        return;
      }
      locator.locate(uri, { trace: true, key }).then(
        (result) =>
          res.json({
            ok: true,
            result,
            state: locator.state(),
            store: node.storeStatus(),
            nameservers: nameserversOf(locator),
          }),
        (err: unknown) => {
          const e = errorOf(err);
          res.status(e.code === 'EINVALIDURI' ? 400 : 200).json({
            ok: false,
            error: e,
            state: locator.state(),
            store: node.storeStatus(),
            nameservers: nameserversOf(locator),
          });
        },
      );
    },
  );
  RED.httpAdmin.get(
    '/sip-resolver/:id/state',
    RED.auth.needsPermission('sip-resolver.read'),
    (req: Request, res: Response) => {
      const node = resolverFor(RED, req.params.id);
      if (!node || !node.locator) return notDeployed(res);
      res.json(resolverState(node, node.locator));
    },
  );
  RED.httpAdmin.post(
    '/sip-resolver/:id/targets',
    RED.auth.needsPermission('sip-resolver.write'),
    (req: Request, res: Response) => {
      const request = readTargetRequest(req.body);
      if (request instanceof SipLocateError) {
        res.status(400).json(errorOf(request));
        return;
      }
      const node = resolverFor(RED, req.params.id);
      const sip = sipLocatorOf(node?.locator);
      if (!node || !sip) return notDeployed(res);
      try {
        const record = sip.setTargetState(request.target, request.state, request.seconds);
        res.json({ ok: true, target: record, admin: sip.adminStates() });
      } catch (err) {
        res.status(400).json(errorOf(err));
      }
    },
  );
  RED.httpAdmin.get(
    '/sip-resolver/:id/metrics',
    RED.auth.needsPermission('sip-resolver.read'),
    (req: Request, res: Response) => {
      const node = resolverFor(RED, req.params.id);
      const sip = sipLocatorOf(node?.locator);
      if (!node || !sip) return notDeployed(res);
      metricsFor(sip)
        .collect()
        .then(
          ({ text, contentType }) => {
            res.set?.('Content-Type', contentType);
            res.status(200).send?.(text);
          },
          (err: unknown) => res.status(500).json(errorOf(err)),
        );
    },
  );
  RED.httpAdmin.post(
    '/sip-resolver/:id/reset',
    RED.auth.needsPermission('sip-resolver.write'),
    (req: Request, res: Response) => {
      const node = resolverFor(RED, req.params.id);
      if (!node || !node.locator) return notDeployed(res);
      node.locator.resetState();
      res.json(node.locator.state());
    },
  );
}
