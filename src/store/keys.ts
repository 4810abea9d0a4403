/** The names of a Redis store's keys and channels, built in one place so every record kind follows the topology's naming. */

/** The key and channel names of one store. */
export interface StoreKeys {
  /** What every key starts with: the prefix, or in Cluster mode `{prefix}` (a hash tag: one slot for all keys). */
  base: string;
  markPrefix: string;
  pinPrefix: string;
  /** Operator states (drain, disable): `<base>:admin:<transport|address|port>`. */
  adminPrefix: string;
  /** Last good plans (serve-stale across restarts): `<base>:plan:<destination>`. */
  planPrefix: string;
  /** The pub/sub channel changes are announced on (a shard channel in the same slot in Cluster mode). */
  channel: string;
}

/** The prefix of one record kind's keys, `<base>:<kind>:` (kinds: mark, pin, and any later ones). */
export function kindPrefix(base: string, kind: string): string {
  return `${base}:${kind}:`;
}

/**
 * The keys of a store with `prefix`. `hashTag` (Cluster mode only) wraps the prefix in braces so every key and
 * the channel hash to one slot, which the scripts need; single and Sentinel keep the plain prefix existing data uses.
 */
export function storeKeys(prefix: string, hashTag: boolean): StoreKeys {
  const base = hashTag ? `{${prefix}}` : prefix;
  return {
    base,
    markPrefix: kindPrefix(base, 'mark'),
    pinPrefix: kindPrefix(base, 'pin'),
    adminPrefix: kindPrefix(base, 'admin'),
    planPrefix: kindPrefix(base, 'plan'),
    channel: `${base}:changes`,
  };
}
