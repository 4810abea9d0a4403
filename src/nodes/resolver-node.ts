/** The sip-resolver config node: owns one locator (DNS cache, failure marks, sticky pins) shared by its users. */
import { createLocator } from '../core/locator';
import { SipLocateError } from '../core/errors';
import type { FamilyPolicy, Locator, LocatorOptions, Transport } from '../core/types';
import type { HttpRequest, HttpResponse, NodeStatus, Red, RedNode } from './red';
import { errorOf, type ResolverConfigNode } from './shared';

/** The properties the editor saves for a sip-resolver. */
export interface ResolverConfig {
  id: string;
  name?: string;
  nameservers?: string;
  transports?: string;
  family?: string;
  sticky?: boolean | string;
  greylist?: number | string;
  timeout?: number | string;
  tries?: number | string;
  cacheSize?: number | string;
  minTtl?: number | string;
  maxTtl?: number | string;
  naptrFallback?: boolean | string;
}

/** How long a closed-but-not-removed resolver keeps its locator for a redeploy to pick up, ms. */
const REDEPLOY_GRACE_MS = 30_000;
/** Largest URI accepted by the Try-it endpoint. */
const MAX_TRY_URI = 2048;

interface Shared {
  fingerprint: string;
  locator: Locator;
  release?: NodeJS.Timeout;
}

/** Locators by config node id: what lets state survive a redeploy that does not change the config node. */
const registry = new Map<string, Shared>();

function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

function bool(v: unknown): boolean {
  return v === true || v === 'true';
}

/** Turns the editor's properties into locator options (validation happens in createLocator). */
export function optionsFromConfig(c: ResolverConfig): LocatorOptions {
  const list = (s: string | undefined): string[] => (s ?? '').split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
  const transports = list(c.transports);
  return {
    nameservers: list(c.nameservers),
    transports: (transports.length ? transports.map((t) => t.toLowerCase()) : ['udp', 'tcp', 'tls']) as Transport[],
    family: (c.family || 'ipv4-first') as FamilyPolicy,
    sticky: bool(c.sticky),
    greylistSeconds: num(c.greylist),
    timeoutMs: num(c.timeout),
    tries: num(c.tries),
    cacheSize: num(c.cacheSize),
    minTtl: num(c.minTtl),
    maxTtl: num(c.maxTtl),
    naptrNoMatch: bool(c.naptrFallback) ? 'fallback' : 'fail',
  };
}

/** Takes the locator for a config node id, reusing the one a previous instance left when nothing changed. */
function acquire(id: string, options: LocatorOptions): Locator {
  const fingerprint = JSON.stringify(options);
  const old = registry.get(id);
  if (old) {
    clearTimeout(old.release);
    old.release = undefined;
    if (old.fingerprint === fingerprint) return old.locator;
    old.locator.close();
    registry.delete(id);
  }
  const locator = createLocator(options);
  registry.set(id, { fingerprint, locator });
  return locator;
}

/** Gives a locator back: closed at once when the node was removed, after a grace period otherwise. */
function release(id: string, locator: Locator, removed: boolean): void {
  const entry = registry.get(id);
  if (!entry || entry.locator !== locator) {
    locator.close();
    return;
  }
  if (removed) {
    registry.delete(id);
    locator.close();
    return;
  }
  entry.release = setTimeout(() => {
    if (registry.get(id) === entry) registry.delete(id);
    locator.close();
  }, REDEPLOY_GRACE_MS);
  entry.release.unref();
}

/** Registers the sip-resolver node type and its admin endpoints. */
export function registerResolver(RED: Red): void {
  function SipResolverNode(this: ResolverConfigNode, config: ResolverConfig): void {
    RED.nodes.createNode(this, config);
    const users = new Set<RedNode>();
    this.sticky = bool(config.sticky);
    this.locator = undefined;
    this.configError = undefined;
    try {
      this.locator = acquire(this.id, optionsFromConfig(config));
    } catch (err) {
      this.configError = err instanceof SipLocateError ? err : new SipLocateError('EINVALIDOPTION', String(err));
      this.error(RED._('sip-resolver.errors.config', { message: this.configError.message }));
    }
    const fanOut = (status: NodeStatus): void => {
      for (const u of users) u.status(status);
    };
    this.register = (user: RedNode): void => {
      users.add(user);
      if (this.configError) user.status({ fill: 'red', shape: 'ring', text: this.configError.code });
    };
    this.deregister = (user: RedNode): void => {
      users.delete(user);
    };
    this.on('close', (removed: boolean, done: () => void) => {
      if (this.locator) release(this.id, this.locator, removed);
      if (removed) fanOut({ fill: 'grey', shape: 'ring', text: 'sip-resolver.status.closed' });
      users.clear();
      this.locator = undefined;
      done();
    });
  }
  RED.nodes.registerType('sip-resolver', SipResolverNode as unknown as (this: RedNode, config: never) => void);
  registerAdmin(RED);
}

function resolverFor(RED: Red, id: unknown): ResolverConfigNode | undefined {
  if (typeof id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) return undefined;
  const node = RED.nodes.getNode(id);
  return node && node.type === 'sip-resolver' ? (node as ResolverConfigNode) : undefined;
}

function notDeployed(res: HttpResponse): void {
  res.status(404).json({ code: 'ENOTDEPLOYED', message: 'This sip-resolver is not deployed yet: deploy the flow, then try again. (Only deployed configurations are used, so the editor cannot make the server ask arbitrary nameservers.)' });
}

/** POST /sip-resolver/:id/try {uri}, GET /sip-resolver/:id/state, POST /sip-resolver/:id/reset. */
function registerAdmin(RED: Red): void {
  RED.httpAdmin.post('/sip-resolver/:id/try', RED.auth.needsPermission('sip-resolver.write'), (req: HttpRequest, res: HttpResponse) => {
    const body = req.body as { uri?: unknown } | undefined;
    const uri = body && typeof body === 'object' ? body.uri : undefined;
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
      res.status(409).json(node.configError ? errorOf(node.configError) : { code: 'ECLOSED', message: 'The sip-resolver is not running.' });
      return;
    }
    locator.locate(uri, { trace: true }).then(
      (result) => res.json({ ok: true, result, state: locator.state() }),
      (err: unknown) => {
        const e = errorOf(err);
        res.status(e.code === 'EINVALIDURI' ? 400 : 200).json({ ok: false, error: e, state: locator.state() });
      },
    );
  });
  RED.httpAdmin.get('/sip-resolver/:id/state', RED.auth.needsPermission('sip-resolver.read'), (req: HttpRequest, res: HttpResponse) => {
    const node = resolverFor(RED, req.params.id);
    if (!node || !node.locator) return notDeployed(res);
    res.json(node.locator.state());
  });
  RED.httpAdmin.post('/sip-resolver/:id/reset', RED.auth.needsPermission('sip-resolver.write'), (req: HttpRequest, res: HttpResponse) => {
    const node = resolverFor(RED, req.params.id);
    if (!node || !node.locator) return notDeployed(res);
    node.locator.resetState();
    res.json(node.locator.state());
  });
}


