/** A state store on Redis: marks and pins shared by several instances, first writer wins for pins, changes announced by pub/sub. */
import { randomUUID } from 'node:crypto';
import { SipLocateError } from '../core/errors';
import type { StateChange } from '../core/types';
import { catchUp, globEscape } from './redis-catchup';
import { parseSentinels, sentinelClient, singleClient, type RedisTopology, type StoreClient } from './redis-client';
import { clientOptions, parseRedisConnection, type RedisConnectionOptions } from './redis-connection';
import { feedListener, messageHead, messageItem } from './redis-feed';
import { planOutcomes, planWrites } from './redis-plans';
import { isNoScript, RedisScripts } from './redis-scripts';
import { redisError, sendBatch, type BatchDeadline } from './pipeline';
import { ttlOf } from './records';
import type { StateStore, StoreEvents, WriteOutcome } from './types';

export { parseRedisUrl } from './redis-connection';

/** Options of createRedisStore(). */
export interface RedisStoreOptions extends RedisConnectionOptions {
  /** Key and channel prefix; instances that share state use the same one. */
  prefix: string;
  /** 'single' (default): the server in `url`; 'sentinel': the primary `sentinels` name as `masterName` (`url` then gives user, password, database and TLS). */
  topology?: RedisTopology;
  /** Sentinel addresses, "host:port" (topology 'sentinel'). */
  sentinels?: string[];
  /** The primary's name in the Sentinels' configuration (topology 'sentinel'). */
  masterName?: string;
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
  if (options.prefix.length === 0 || options.prefix.length > 200) throw new SipLocateError('EINVALIDOPTION', 'The Redis key prefix must have 1 to 200 characters.', { option: 'redisPrefix' });
  // The client drops a command once its batch has given up on it (three deadlines), so a hung server cannot pile them up.
  const client = clientOptions(conn, (options.timeoutMs ?? 3000) * 3 + 1000);
  if ((options.topology ?? 'single') === 'single') return new RedisStore(options, () => singleClient(client), conn.db, conn.password);
  if (options.topology !== 'sentinel') throw new SipLocateError('EINVALIDOPTION', `The Redis topology must be single or sentinel, not "${String(options.topology).slice(0, 20)}".`, { option: 'redisTopology' });
  const sentinel = { sentinels: options.sentinels ?? [], masterName: options.masterName ?? '' };
  parseSentinels(sentinel);
  return new RedisStore(options, () => sentinelClient(client, sentinel), conn.db, conn.password);
}

/** One store: a command connection, a subscriber connection, the scripts, the catch-up and the feed. */
class RedisStore implements StateStore {
  readonly kind = 'redis' as const;
  private readonly client: StoreClient;
  private readonly sub: StoreClient;
  private readonly self = randomUUID();
  private readonly keys: { markPrefix: string; pinPrefix: string; channel: string };
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

  constructor(private readonly options: RedisStoreOptions, connect: () => StoreClient, db: number, private readonly secret: string | undefined) {
    this.client = connect();
    this.sub = connect();
    this.clock = options.clock ?? { now: Date.now };
    this.keys = { markPrefix: `${options.prefix}:mark:`, pinPrefix: `${options.prefix}:pin:`, channel: `${options.prefix}:changes` };
    this.expiredChannel = `__keyevent@${db}__:expired`;
    this.planPrefix = `${options.prefix}:plan:`;
    this.scripts = new RedisScripts(this.keys, (change, now, record) => messageItem(change, ttlOf(change, now), record), messageHead(this.self));
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

  /** Switches on expiry events where CONFIG is allowed; elsewhere each instance relies on its own clock. */
  private async enableExpiryEvents(): Promise<void> {
    try {
      const reply = await this.client.sendCommand<string[]>(['CONFIG', 'GET', 'notify-keyspace-events']);
      const flags = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : '';
      const want = [...new Set([...flags, 'E', 'x'])].join('');
      if (!(flags.includes('E') || flags.includes('A')) || !(flags.includes('x') || flags.includes('A'))) await this.client.sendCommand(['CONFIG', 'SET', 'notify-keyspace-events', want]);
    } catch {
      // CONFIG may be refused (managed Redis): the README says how to switch the events on there.
    }
  }

  start(e: StoreEvents): void {
    this.events = e;
    const { client, sub } = this;
    for (const [c, name] of [[client, 'commands'], [sub, 'subscription']] as const) {
      c.onError((err: unknown) => {
        if (!this.closing) this.events?.down(this.error(err, name));
      });
    }
    client.onReady(() => {
      this.scriptsLoaded = false;
      void this.enableExpiryEvents();
      // The scripts are loaded before the link hears `up`, so its first writes go out in the order they were made.
      this.scripts.load(client, this.deadline).then(() => {
        this.scriptsLoaded = true;
        if (this.subscribed && !this.closing) e.up();
      }, (err: unknown) => {
        if (!this.closing) e.down(this.error(err, 'script load'));
      });
    });
    sub.onReady(() => {
      if (this.subscribed && this.scriptsLoaded && !this.closing) e.up();
    });
    client.connect().catch((err: unknown) => {
      if (!this.closing) e.down(this.error(err, 'connect'));
    });
    const listener = feedListener({ self: this.self, channel: this.keys.channel, expiredChannel: this.expiredChannel, markPrefix: this.keys.markPrefix, pinPrefix: this.keys.pinPrefix, now: () => this.clock.now() }, () => this.events);
    sub.connect().then(() => sub.subscribe([this.keys.channel, this.expiredChannel], listener)).then(() => {
      this.subscribed = true;
      if (this.scriptsLoaded && !this.closing) e.up();
    }).catch((err: unknown) => {
      if (!this.closing) e.down(this.error(err, 'subscribe'));
    });
  }

  async load(apply: Parameters<StateStore['load']>[0]): Promise<void> {
    if (!this.sub.isReady || !this.subscribed) throw new SipLocateError('ESTOREDOWN', 'The Redis subscription is not connected yet.');
    try {
      await catchUp({
        client: this.client, prefix: this.options.prefix, markPrefix: this.keys.markPrefix, pinPrefix: this.keys.pinPrefix, planPrefix: this.planPrefix,
        deadline: this.deadline, totalMs: this.options.catchUpMs ?? 60_000, now: () => this.clock.now(),
        invalid: (error, key) => this.events?.invalid(error, key),
      }, apply);
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
      if (!this.scriptsLoaded) {
        await this.scripts.load(this.client, this.deadline);
        this.scriptsLoaded = true;
      }
      const now = this.clock.now();
      const call = this.scripts.command(changes, now);
      // Last good plans are plain SETs with an expiry, sent in the same round trip as the script.
      const plans = planWrites(changes, this.planPrefix, now);
      if (!call && plans.commands.length === 0) return changes.map(() => ({}));
      const replies = await this.batch([...(call ? [call.command] : []), ...plans.commands], 'write');
      const planReplies = call ? replies.slice(1) : replies;
      let out: WriteOutcome[] = changes.map(() => ({}));
      if (call) {
        let reply = replies[0];
        if (reply && isNoScript(reply)) {
          // Redis lost its script cache (restart, SCRIPT FLUSH) mid-run: load again and resend this batch once.
          await this.scripts.load(this.client, this.deadline);
          [reply] = await this.batch([call.command], 'write');
        }
        if (!reply) throw new SipLocateError('ESTOREDOWN', 'Redis did not answer a batch of writes.');
        out = this.scripts.outcomes(changes, call.sent, reply, now);
      }
      planOutcomes(out, changes, plans.sent, planReplies, this.planPrefix);
      return out;
    } catch (err) {
      throw this.error(err, 'write');
    }
  }

  /** One batch; a batch that was slow clears the slow flag when it answers. */
  private async batch(commands: string[][], what: string): Promise<Awaited<ReturnType<typeof sendBatch>>> {
    let wasSlow = false;
    const deadline = { ...this.deadline, onSlow: () => {
      if (!wasSlow) this.setSlow(+1);
      wasSlow = true;
    } };
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
        const [reply] = await this.batch([['SCAN', cursor, 'MATCH', `${globEscape(this.options.prefix)}:*`, 'COUNT', String(DELETE_BATCH)]], 'reset');
        if (!reply?.ok || !Array.isArray(reply.value)) throw new SipLocateError('ESTOREDOWN', 'Redis answered SCAN with something else than a cursor and keys.');
        const [next, found] = reply.value as [string, string[]];
        const mine = found.filter((k) => k.startsWith(this.keys.markPrefix) || k.startsWith(this.keys.pinPrefix));
        if (mine.length > 0) await this.batch([['DEL', ...mine]], 'reset');
        cursor = next;
      } while (cursor !== '0');
      await this.batch([['PUBLISH', this.keys.channel, `${messageHead(this.self)}${messageItem(change, 0)}]}`]], 'reset');
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
        if (c.isReady) await Promise.race([c.close(), new Promise((_, reject) => setTimeout(() => reject(new Error('close')), 2000).unref())]);
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
