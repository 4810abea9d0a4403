/** The sip-resolver config node: owns one locator (DNS cache, failure marks, sticky pins) shared by its users. */
import { createLocator, type SipLocator } from '../core/locator';
import { SipLocateError } from '../core/errors';
import { LOCATOR_OPTIONS } from '../core/locator/options';
import { targetLabel } from '../core/target';
import type { LocatorOptions } from '../core/types';
import type { Locator } from '../core/locator/api';
import { createContextStore, type ContextLike } from '../store/context';
import { linkStore, type StoreLink } from '../store/link';
import type { StateStore, StoreStatus } from '../store/types';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import {
  bool,
  optionsFromConfig,
  storeFromConfig,
  withoutUnsetVariables,
  type ResolverConfig,
  type StoreConfig,
} from './resolver-config';
import { RecentDestinations } from './recent-destinations';
import { errorOf } from './msg-contract';
import type { ResolverConfigNode, ResolverCredentials, ResolverNotice } from './resolver-lookup';
import { metricsFor } from '../metrics/registry';
import { resolverState, sipLocatorOf } from './operator';
import { Monitor } from '../monitor/scheduler';
import { monitorSettingsFrom } from '../monitor/settings';
import { createStateFeed } from './sidebar-feed';
import { registerAdmin } from './resolver-admin';

/** How long a closed-but-not-removed resolver keeps its locator for a redeploy to pick up, ms. */
const REDEPLOY_GRACE_MS = 30_000;

interface Shared {
  fingerprint: string;
  locator: SipLocator;
  link?: StoreLink;
  release?: NodeJS.Timeout;
}

/** Locators by config node id: what lets state survive a redeploy that does not change the config node. */
const registry = new Map<string, Shared>();

/** Creates the store a configuration asks for (the Redis client is loaded only when used). */
function createStore(config: StoreConfig, context: ContextLike, locator: Locator): StateStore | undefined {
  if (config.kind === 'context')
    return createContextStore(context, {
      store: config.contextStore,
      snapshot: () => ({
        ...locator.state(),
        admin: locator.adminStates?.() ?? [],
        plans: locator.savedPlans?.() ?? [],
      }),
    });
  if (config.kind === 'redis') {
    const { createRedisStore } = require('../store/redis') as typeof import('../store/redis');
    return createRedisStore({
      url: config.redisUrl!,
      prefix: config.redisPrefix!,
      password: config.redisPassword,
      caFile: config.redisCaFile,
      ...(config.redisTopology
        ? {
            topology: config.redisTopology,
            sentinels: config.redisSentinels,
            masterName: config.redisMasterName,
            nodes: config.redisNodes,
          }
        : {}),
    });
  }
  return undefined;
}

/** Closes a locator after its store link has flushed. */
function closeShared(entry: Shared): void {
  const { link, locator } = entry;
  if (!link) {
    locator.close();
    return;
  }
  void link.close().finally(() => locator.close());
}

/** Takes the locator (and store link) for a config node id, reusing what a previous instance left when nothing changed. */
function acquire(
  id: string,
  options: LocatorOptions,
  store: StoreConfig,
  context: ContextLike,
  log?: (message: string) => void,
): Shared {
  const fingerprint = JSON.stringify([options, store]);
  const old = registry.get(id);
  if (old) {
    clearTimeout(old.release);
    old.release = undefined;
    if (old.fingerprint === fingerprint) return old;
    closeShared(old);
    registry.delete(id);
  }
  const locator = createLocator(options);
  let link: StoreLink | undefined;
  try {
    const backing = createStore(store, context, locator);
    const d = LOCATOR_OPTIONS;
    const limits = {
      maxPinMs: (options.pinSeconds ?? d.pinSeconds.default) * 1000,
      maxMarkMs:
        Math.max(
          options.greylistSeconds ?? d.greylistSeconds.default,
          options.maxBlacklistSeconds ?? d.maxBlacklistSeconds.default,
        ) * 1000,
    };
    if (backing) link = linkStore(locator, backing, { limits, log });
  } catch (err) {
    locator.close();
    throw err;
  }
  const entry: Shared = { fingerprint, locator, link };
  registry.set(id, entry);
  return entry;
}

/** Gives a locator back: closed at once when the node was removed, after a grace period otherwise; the store is flushed either way. */
async function release(id: string, shared: Shared, removed: boolean): Promise<void> {
  const entry = registry.get(id);
  if (!entry || entry !== shared) {
    closeShared(shared);
    return;
  }
  if (removed) {
    registry.delete(id);
    closeShared(entry);
    return;
  }
  // Node-RED may be stopping: write what the context store holds before it closes.
  await entry.link?.flush().catch(() => undefined);
  entry.release = setTimeout(() => {
    if (registry.get(id) === entry) registry.delete(id);
    closeShared(entry);
  }, REDEPLOY_GRACE_MS);
  entry.release.unref();
}

/** The context store names settings.js defines, when the runtime tells. */
function contextStoreNames(RED: NodeAPI): string[] | undefined {
  const storage = (RED.settings as { contextStorage?: unknown } | undefined)?.contextStorage;
  if (!storage || typeof storage !== 'object') return undefined;
  return Object.keys(storage).filter(
    (k) => k !== 'default' || typeof (storage as Record<string, unknown>).default === 'object',
  );
}

/** Registers the sip-resolver node type and its admin endpoints. */
function registerResolver(RED: NodeAPI): void {
  function SipResolverNode(this: ResolverConfigNode, saved: ResolverConfig & NodeDef): void {
    RED.nodes.createNode(this, saved);
    const node = this;
    // A `${NAME}` Node-RED left as text (NAME unset) counts as an empty setting: the system's DNS, memory instead of Redis.
    const { config, unset } = withoutUnsetVariables(saved);
    for (const u of unset)
      this.warn(RED._('sip-resolver.status.unsetVariable', { variable: u.variable, setting: u.setting }));
    const users = new Map<Node, (n: ResolverNotice) => void>();
    let shared: Shared | undefined;
    let stopStatus: (() => void) | undefined;
    let monitor: Monitor | undefined;
    let stopHealthLog: (() => void) | undefined;
    this.sticky = bool(config.sticky);
    this.locator = undefined;
    this.configError = undefined;
    this.storeStatus = () => shared?.link?.status();
    const recent = new RecentDestinations();
    const feed = createStateFeed(RED, this.id, () => ({
      id: node.id,
      name: config.name || '',
      ...(node.locator
        ? resolverState(node, node.locator)
        : { error: node.configError ? errorOf(node.configError) : undefined }),
      ...(node.locator ? { orders: node.locator.state({ orders: true }).orders } : {}),
      recent: recent.list(),
      now: Date.now(),
    }));
    const unwatch: Array<() => void> = [];
    this.seen = (result): void => {
      if (recent.record(result.destination, result.targets, Date.now())) feed.changed();
    };
    // Each user shows a notice in its own words: a status key of the resolver's catalog means nothing to it.
    const fanOut = (notice: ResolverNotice): void => {
      for (const tell of users.values()) tell(notice);
    };
    try {
      const store = storeFromConfig(config, this.id, this.credentials?.redisPassword, contextStoreNames(RED), unset);
      if (store.unsetRedisVariable) {
        const down: StoreStatus = {
          kind: 'redis',
          state: 'down',
          since: Date.now(),
          error: {
            code: 'ESTOREDOWN',
            message: RED._('sip-resolver.status.unsetVariable', {
              variable: store.unsetRedisVariable,
              setting: 'redisUrl',
            }),
          },
          written: 0,
          failed: 0,
          received: 0,
          invalid: 0,
          pending: 0,
        };
        this.storeStatus = () => down;
      }
      const monitoring = monitorSettingsFrom(config);
      shared = acquire(this.id, optionsFromConfig(config), store, this.context(), (message) => node.warn(message));
      this.locator = shared.locator;
      const sip = sipLocatorOf(shared.locator);
      if (sip) metricsFor(sip).setSources({ store: () => this.storeStatus(), health: () => sip.health.list() });
      if (monitoring) {
        stopHealthLog = shared.locator.events.on((e) => {
          if (e.op !== 'up' && e.op !== 'down' && e.op !== 'failback') return;
          const t = e.target ? targetLabel(e.target) : '';
          const text = RED._(`sip-resolver.status.health-${e.op}`, {
            target: t,
            reason: e.reason ?? '',
            destination: e.destination ?? '',
          });
          if (e.op === 'down') node.warn(text);
          else node.log(text);
        });
        monitor = new Monitor(shared.locator, monitoring, {
          onProblem: (uri, err) =>
            node.warn(RED._('sip-resolver.status.monitorProblem', { uri, code: err.code, message: err.message })),
          onProbe: (outcome) =>
            sip &&
            metricsFor(sip).observeProbe(
              outcome.alive ? 'up' : outcome.code !== undefined ? 'failed' : 'no-answer',
              outcome.rttMs,
            ),
        });
        monitor.start();
      }
      unwatch.push(shared.locator.onChange(() => feed.changed()));
      const events = (shared.locator as Partial<SipLocator>).events;
      if (events) unwatch.push(events.on(() => feed.changed()));
      stopStatus = shared.link?.onStatus((s: StoreStatus) => {
        feed.changed();
        if (s.state === 'down' || s.state === 'up')
          sip?.events.emit({
            op: s.state === 'down' ? 'store-down' : 'store-up',
            state: s.state,
            ...(s.error ? { reason: s.error.code } : {}),
          });
        if (s.state === 'down') {
          node.warn(RED._('sip-resolver.status.storeDownLog', { kind: s.kind, message: s.error?.message ?? '' }));
          fanOut({ kind: 'storeDown', store: s.kind });
        } else if (s.state === 'up') {
          node.log(RED._('sip-resolver.status.storeUpLog', { kind: s.kind }));
          fanOut({ kind: 'storeUp', store: s.kind });
        }
      });
    } catch (err) {
      this.configError = err instanceof SipLocateError ? err : new SipLocateError('EINVALIDOPTION', String(err));
      this.error(RED._('sip-resolver.errors.config', { message: this.configError.message }));
    }
    this.register = (user: Node, notice: (n: ResolverNotice) => void): void => {
      users.set(user, notice);
      if (this.configError) notice({ kind: 'configError', code: this.configError.code });
      else if (this.storeStatus()?.state === 'down') notice({ kind: 'storeDown', store: this.storeStatus()!.kind });
    };
    this.deregister = (user: Node): void => {
      users.delete(user);
    };
    feed.changed();
    this.on('close', (removed: boolean, done: () => void) => {
      stopStatus?.();
      for (const stop of unwatch.splice(0)) stop();
      feed.close(removed);
      if (removed) fanOut({ kind: 'closed' });
      users.clear();
      this.locator = undefined;
      stopHealthLog?.();
      const stopped = monitor?.close() ?? Promise.resolve();
      monitor = undefined;
      const held = shared;
      const finish = stopped.then(() => (held ? release(this.id, held, removed) : undefined));
      shared = undefined;
      finish.then(
        () => done(),
        () => done(),
      );
    });
  }
  RED.nodes.registerType<ResolverConfigNode, ResolverConfig & NodeDef, unknown, ResolverCredentials>(
    'sip-resolver',
    SipResolverNode,
    {
      credentials: { redisPassword: { type: 'password' } },
    },
  );
  registerAdmin(RED);
}

export = registerResolver;
