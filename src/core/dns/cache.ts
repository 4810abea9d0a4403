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

/** Bytes an entry is counted as: its key, names and RDATA as held in memory, plus a fixed overhead per object. */
export function entryBytes(key: string, entry: CacheEntry): number {
  const OBJECT = 64;
  let bytes = OBJECT + 2 * key.length;
  if (entry.kind === 'negative') return bytes + 2 * (entry.message.length + entry.nameserver.length);
  bytes += 2 * (entry.name.length + entry.canonicalName.length + entry.nameserver.length);
  for (const r of entry.records) {
    bytes += OBJECT + 2 * r.name.length;
    const d = r.data;
    if (typeof d === 'string') bytes += 2 * d.length;
    else if ('target' in d) bytes += OBJECT + 2 * d.target.length;
    else bytes += OBJECT + 2 * (d.flags.length + d.services.length + d.regexp.length + d.replacement.length);
  }
  return bytes;
}

interface Slot {
  entry: CacheEntry;
  bytes: number;
}

/**
 * A bounded LRU of RRsets and negative answers, bounded in entries and in bytes (large RRsets count by their size);
 * expiry is checked on read, no timers.
 */
export class DnsCache {
  private readonly map = new Map<string, Slot>();
  private used = 0;

  /** maxEntries: the LRU bound; now: the millisecond clock; staleMs: how long expired RRsets are kept for serve-stale; maxBytes: the byte bound. */
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
    private readonly staleMs = 0,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** Number of entries (expired ones included until read or evicted). */
  get size(): number {
    return this.map.size;
  }

  /** Bytes the entries are counted as (see entryBytes). */
  get bytes(): number {
    return this.used;
  }

  /** The live entry for a key, or undefined; a hit becomes the most recently used. */
  get(key: string): CacheEntry | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (slot.entry.expiresAt <= this.now()) {
      if (!this.keptStale(slot.entry)) this.remove(key, slot);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, slot);
    return slot.entry;
  }

  /** An expired RRset still inside the stale window (RFC 8767), or undefined. */
  getStale(key: string): PositiveEntry | undefined {
    const slot = this.map.get(key);
    if (slot === undefined || slot.entry.kind !== 'positive' || slot.entry.expiresAt > this.now()) return undefined;
    if (!this.keptStale(slot.entry)) {
      this.remove(key, slot);
      return undefined;
    }
    return slot.entry;
  }

  /** Stores an entry unless it would replace live answer data with additional data or is larger than the byte bound; returns whether it was stored. */
  set(key: string, entry: CacheEntry): boolean {
    if (this.maxEntries <= 0) return false;
    const bytes = entryBytes(key, entry);
    if (bytes > this.maxBytes) return false;
    const old = this.map.get(key);
    if (old) {
      const o = old.entry;
      if (
        o.expiresAt > this.now() &&
        o.kind === 'positive' &&
        o.trust === 'answer' &&
        entry.kind === 'positive' &&
        entry.trust === 'additional'
      )
        return false;
      this.remove(key, old);
    }
    this.map.set(key, { entry, bytes });
    this.used += bytes;
    while (this.map.size > this.maxEntries || this.used > this.maxBytes) {
      const [oldest, slot] = this.map.entries().next().value as [string, Slot];
      this.remove(oldest, slot);
    }
    return true;
  }

  /** Removes every entry. */
  clear(): void {
    this.map.clear();
    this.used = 0;
  }

  private remove(key: string, slot: Slot): void {
    this.map.delete(key);
    this.used -= slot.bytes;
  }

  private keptStale(entry: CacheEntry): boolean {
    return entry.kind === 'positive' && entry.expiresAt + this.staleMs > this.now();
  }
}
