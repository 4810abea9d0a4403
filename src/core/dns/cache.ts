import type { ErrorCode } from '../errors';
import type { DnsRecord, RecordType, Trust } from './types';

/** A cached RRset. */
export interface PositiveEntry {
  kind: 'positive';
  name: string;
  type: RecordType;
  canonicalName: string;
  records: DnsRecord[];
  trust: Trust;
  nameserver: string;
  expiresAt: number;
  /** After a failed refresh of expired data: until when it is served stale without asking again (RFC 8767), ms. */
  recheckAt?: number;
}

/** A cached NXDOMAIN or NODATA (RFC 2308). */
export interface NegativeEntry {
  kind: 'negative';
  code: Extract<ErrorCode, 'ENOTFOUND' | 'ENODATA'>;
  message: string;
  nameserver: string;
  expiresAt: number;
}

/** One cache slot. */
export type CacheEntry = PositiveEntry | NegativeEntry;

/** The cache key of a question. */
export function cacheKey(name: string, type: RecordType): string {
  return type + ' ' + name;
}

/** A bounded LRU of RRsets and negative answers; expiry is checked on read, no timers. */
export class DnsCache {
  private readonly map = new Map<string, CacheEntry>();

  /** maxEntries: the LRU bound; now: the millisecond clock; staleMs: how long expired RRsets are kept for serve-stale. */
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
    private readonly staleMs = 0,
  ) {}

  /** Number of entries (expired ones included until read or evicted). */
  get size(): number {
    return this.map.size;
  }

  /** The live entry for a key, or undefined; a hit becomes the most recently used. */
  get(key: string): CacheEntry | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      if (!this.keptStale(entry)) this.map.delete(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, entry);
    return entry;
  }

  /** An expired RRset still inside the stale window (RFC 8767), or undefined. */
  getStale(key: string): PositiveEntry | undefined {
    const entry = this.map.get(key);
    if (entry === undefined || entry.kind !== 'positive' || entry.expiresAt > this.now()) return undefined;
    if (!this.keptStale(entry)) {
      this.map.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Stores an entry unless it would replace live answer data with additional data; returns whether it was stored. */
  set(key: string, entry: CacheEntry): boolean {
    if (this.maxEntries <= 0) return false;
    const old = this.map.get(key);
    if (old && old.expiresAt > this.now() && old.kind === 'positive' && old.trust === 'answer' && entry.kind === 'positive' && entry.trust === 'additional') {
      return false;
    }
    this.map.delete(key);
    this.map.set(key, entry);
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    this.map.clear();
  }

  private keptStale(entry: CacheEntry): boolean {
    return entry.kind === 'positive' && entry.expiresAt + this.staleMs > this.now();
  }
}
