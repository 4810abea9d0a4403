/** A state store on Redis: marks and pins shared by several instances, first writer wins for pins, changes announced by pub/sub. */
import { randomUUID } from 'node:crypto';
import { SipLocateError } from '../core/errors';
import type { StateChange } from '../core/types';
import { catchUp, globEscape } from './redis-catchup';
import {
  enableExpiryEvents,
  parseSentinels,
  sentinelClient,
  singleClient,
  type RedisTopology,
  type StoreClient,
} from './redis-client';
import { clusterClient, hasShardedPubSub, parseClusterNodes } from './redis-cluster';
import { clientOptions, parseRedisConnection, type RedisConnectionOptions } from './redis-connection';
import { feedListener, messageHead, messageItem } from './redis-feed';
import { planOutcomes, planWrites } from './redis-plans';
import { isNoScript, RedisScripts } from './redis-scripts';
import { redisError, sendBatch, type BatchDeadline, type BatchReply } from './pipeline';
import { ttlOf } from './records';
import { storeKeys, type StoreKeys } from './keys';
import type { StateStore, StoreEvents, WriteOutcome } from './types';

export { parseRedisUrl } from './redis-connection';

/** Options of createRedisStore(). */
export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Key and channel prefix; instances that share state use the same one. */
  prefix: string;
  /**
   * 'single' (default): the server in `url`; 'sentinel': the primary `sentinels` name as `masterName`; 'cluster': the
   * Redis Cluster `nodes` belong to (keys then start with `{prefix}`). With sentinel and cluster, `url` gives user,
   * password, database (cluster: 0 only) and TLS.
   */
  topology?: RedisTopology;
  /** Sentinel addresses, "host:port" (topology 'sentinel'). */
  sentinels?: string[];
  /** The primary's name in the Sentinels' configuration (topology 'sentinel'). */
  masterName?: string;
  /** Addresses of some cluster nodes, "host:port" (topology 'cluster'). */
  nodes?: string[];
  /** Deadline for one batch of writes or reads, ms (default 3000): past it the link reports slow; past three it fails. */
  timeoutMs?: number;
  /** Deadline for reading the whole store after a (re)connect, ms (default 60000). */
  catchUpMs?: number;
  clock?: { now(): number };
}

/** Keys deleted per DEL when the state is reset. */
const DELETE_BATCH = 1000;

/** Creates a Redis-backed store; nothing connects until start(). Throws EINVALIDOPTION for a bad URL, CA file or prefix. */
export function createRedisStore(options: RedisStoreOptions): StateStore {
  const conn = parseRedisConnection(options);
  if (options.prefix.length === 0 || options.prefix.length > 200)
    throw new SipLocateError('EINVALIDOPTION', 'The Redis key prefix must have 1 to 200 characters.', {
      option: 'redisPrefix',
    });
  // The client drops a command once its batch has given up on it (three deadlines), so a hung server cannot pile them up.
  const client = clientOptions(conn, (options.timeoutMs ?? 3000) * 3 + 1000);
  const topology = options.topology ?? 'single';
  if (topology === 'single')
    return new RedisStore(
      options,
      () => singleClient(client),
      conn.db,
      conn.password,
      storeKeys(options.prefix, false),
    );
  if (topology === 'sentinel') {
    const sentinel = { sentinels: options.sentinels ?? [], masterName: options.masterName ?? '' };
    parseSentinels(sentinel);
    return new RedisStore(
      options,
      () => sentinelClient(client, sentinel),
      conn.db,
      conn.password,
      storeKeys(options.prefix, false),
    );
  }
  if (topology !== 'cluster')
    throw new SipLocateError(
      'EINVALIDOPTION',
      `The Redis topology must be single, sentinel or cluster, not "${String(topology).slice(0, 20)}".`,
      { option: 'redisTopology' },
    );
  const cluster = { nodes: options.nodes ?? [] };
  parseClusterNodes(cluster);
  if (conn.db !== 0)
    throw new SipLocateError(
      'EINVALIDOPTION',
      'Redis Cluster has only database 0; leave the database out of the URL.',
      { option: 'redisUrl' },
    );
  // The hash tag is the prefix up to its first closing brace, so a brace in the prefix would split the keys over slots.
  if (/[{}]/.test(options.prefix))
    throw new SipLocateError('EINVALIDOPTION', 'With Redis Cluster the key prefix must not contain { or }.', {
      option: 'redisPrefix',
    });
  const keys = storeKeys(options.prefix, true);
  return new RedisStore(options, () => clusterClient(client, cluster, keys.base), 0, conn.password, keys);
}

/** One store: a command connection, a subscriber connection, the scripts, the catch-up and the feed. */
class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  private readonly client: StoreClient;
  private readonly sub: StoreClient;
  private readonly self = randomUUID();
  private readonly scripts: RedisScripts;
  private readonly clock: { now(): number };
  private readonly deadline: BatchDeadline;
  private readonly expiredChannel: string;
  /** Where last good plans are kept: `<prefix>:plan:<destination>`. */
  private readonly planPrefix: string;
  private events: StoreEvents | undefined;
  private closing = false;
  private subscribed = false;
  private scriptsLoaded = false;
  private slow = 0;

  constructor(
    private readonly options: RedisStoreOptions,
    connect: () => StoreClient,
    db: number,
    private readonly secret: string | undefined,
    private readonly keys: StoreKeys,
  ) {
    this.client = connect();
    this.sub = connect();
    this.clock = options.clock ?? { now: Date.now };
    this.expiredChannel = `__keyevent@${db}__:expired`;
    this.planPrefix = keys.planPrefix;
    this.scripts = new RedisScripts(
      this.keys,
      (change, now, record) => messageItem(change, ttlOf(change, now), record),
      messageHead(this.self),
    );
    this.deadline = { ms: options.timeoutMs ?? 3000 };
  }

  private setSlow(delta: number): void {
    const was = this.slow > 0;
    this.slow = Math.max(0, this.slow + delta);
    if (was !== this.slow > 0) this.events?.slow?.(this.slow > 0);
  }

  private error(err: unknown, what: string): SipLocateError {
    return redisError(err, what, this.secret);
  }

  start(e: StoreEvents): void {
    this.events = e;
    const { client, sub } = this;
    for (const [c, name] of [
      [client, 'commands'],
      [sub, 'subscription'],
    ] as const) {
      c.onError((err: unknown) => {
        if (!this.closing) this.events?.down(this.error(err, name));
      });
    }
    client.onReady(() => {
      this.scriptsLoaded = false;
      void enableExpiryEvents(client);
      // The scripts are loaded before the link hears `up`, so its first writes go out in the order they were made.
      this.prepare().then(
        () => {
          this.scriptsLoaded = true;
          if (this.subscribed && !this.closing) e.up();
        },
        (err: unknown) => {
          if (!this.closing) e.down(this.error(err, 'script load'));
        },
      );
    });
    sub.onReady(() => {
      if (this.subscribed && this.scriptsLoaded && !this.closing) e.up();
    });
    client.connect().catch((err: unknown) => {
      if (!this.closing) e.down(this.error(err, 'connect'));
    });
    const listener = feedListener(
      {
        self: this.self,
        channel: this.keys.channel,
        expiredChannel: this.expiredChannel,
        markPrefix: this.keys.markPrefix,
        pinPrefix: this.keys.pinPrefix,
        now: () => this.clock.now(),
      },
      () => this.events,
    );
    sub
      .connect()
      .then(() => sub.subscribe([this.keys.channel, this.expiredChannel], listener))
      .then(() => {
        this.subscribed = true;
        if (this.scriptsLoaded && !this.closing) e.up();
      })
      .catch((err: unknown) => {
        if (!this.closing) e.down(this.error(err, 'subscribe'));
      });
  }

  /** Loads the scripts; in Cluster mode first learns whether changes go on a shard channel. */
  private async prepare(): Promise<void> {
    if (this.options.topology === 'cluster')
      this.scripts.publish = (await hasShardedPubSub(this.client)) ? 'SPUBLISH' : 'PUBLISH';
    await this.scripts.load(this.client, this.deadline);
    this.scriptsLoaded = true;
  }

  async load(apply: Parameters<StateStore['load']>[0]): Promise<void> {
    if (!this.sub.isReady || !this.subscribed)
      throw new SipLocateError('ESTOREDOWN', 'The Redis subscription is not connected yet.');
    try {
      await catchUp(
        {
          client: this.client,
          prefix: this.keys.base,
          markPrefix: this.keys.markPrefix,
          pinPrefix: this.keys.pinPrefix,
          adminPrefix: this.keys.adminPrefix,
          planPrefix: this.planPrefix,
          deadline: this.deadline,
          totalMs: this.options.catchUpMs ?? 60_000,
          now: () => this.clock.now(),
          invalid: (error, key) => this.events?.invalid(error, key),
        },
        apply,
      );
    } catch (err) {
      throw this.error(err, 'catch-up');
    }
  }

  async write(changes: readonly StateChange[]): Promise<WriteOutcome[]> {
    if (changes.length === 1 && changes[0]!.op === 'reset') {
      await this.reset(changes[0]!);
      return [{}];
    }
    try {
      if (!this.scriptsLoaded) await this.prepare();
      const now = this.clock.now();
      const recheck = new Map<number, string>();
      // Last good plans are plain SETs with an expiry, sent in the same round trip as the script.
      const plans = planWrites(changes, this.planPrefix, now);
      const { out, extraReplies } = await this.send(changes, now, undefined, recheck, plans.commands);
      planOutcomes(out, changes, plans.sent, extraReplies, this.planPrefix);
      if (recheck.size > 0) {
        // Pins whose standing pin points at a target the script was not given: once more, declaring that target's mark key.
        const again = (await this.send(changes, now, recheck)).out;
        for (const i of recheck.keys()) out[i] = again[i]!;
      }
      return out;
    } catch (err) {
      throw this.error(err, 'write');
    }
  }

  /** One script call for `changes` (or those in `believed`), loading the script again once if Redis lost it. */
  /** The script call for changes, with `extra` commands in the same round trip; their outcomes and the extra replies. */
  private async send(
    changes: readonly StateChange[],
    now: number,
    believed?: ReadonlyMap<number, string>,
    recheck?: Map<number, string>,
    extra: string[][] = [],
  ): Promise<{ out: WriteOutcome[]; extraReplies: BatchReply[] }> {
    const call = this.scripts.command(changes, now, believed);
    if (!call && extra.length === 0) return { out: changes.map(() => ({})), extraReplies: [] };
    const replies = await this.batch([...(call ? [call.command] : []), ...extra], 'write');
    const extraReplies = call ? replies.slice(1) : replies;
    if (!call) return { out: changes.map(() => ({})), extraReplies };
    let reply = replies[0];
    if (reply && isNoScript(reply)) {
      // Redis lost its script cache (restart, failover, SCRIPT FLUSH) mid-run: load again and resend this batch once.
      await this.scripts.load(this.client, this.deadline);
      [reply] = await this.batch([call.command], 'write');
    }
    if (!reply) throw new SipLocateError('ESTOREDOWN', 'Redis did not answer a batch of writes.');
    return { out: this.scripts.outcomes(changes, call.sent, reply, now, recheck), extraReplies };
  }

  /** One batch; a batch that was slow clears the slow flag when it answers. */
  private async batch(commands: string[][], what: string): Promise<Awaited<ReturnType<typeof sendBatch>>> {
    let wasSlow = false;
    const deadline = {
      ...this.deadline,
      onSlow: () => {
        if (!wasSlow) this.setSlow(+1);
        wasSlow = true;
      },
    };
    try {
      return await sendBatch(this.client, commands, deadline, what);
    } finally {
      if (wasSlow) this.setSlow(-1);
    }
  }

  /** Deletes every mark and pin under the prefix and announces the reset. */
  private async reset(change: StateChange): Promise<void> {
    try {
      let cursor = '0';
      do {
        const [reply] = await this.batch(
          [['SCAN', cursor, 'MATCH', `${globEscape(this.keys.base)}:*`, 'COUNT', String(DELETE_BATCH)]],
          'reset',
        );
        if (!reply?.ok || !Array.isArray(reply.value))
          throw new SipLocateError('ESTOREDOWN', 'Redis answered SCAN with something else than a cursor and keys.');
        const [next, found] = reply.value as [string, string[]];
        const mine = found.filter((k) => k.startsWith(this.keys.markPrefix) || k.startsWith(this.keys.pinPrefix));
        if (mine.length > 0) await this.batch([['DEL', ...mine]], 'reset');
        cursor = next;
      } while (cursor !== '0');
      await this.batch(
        [[this.scripts.publish, this.keys.channel, `${messageHead(this.self)}${messageItem(change, 0)}]}`]],
        'reset',
      );
    } catch (err) {
      throw this.error(err, 'reset');
    }
  }

  async flush(): Promise<void> {
    // writes are sent as soon as the link hands them over
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const c of [this.sub, this.client]) {
      try {
        if (c.isReady)
          await Promise.race([
            c.close(),
            new Promise((_, reject) => setTimeout(() => reject(new Error('close')), 2000).unref()),
          ]);
        else c.destroy();
      } catch {
        try {
          c.destroy();
        } catch {
          // already closed
        }
      }
    }
  }
}
