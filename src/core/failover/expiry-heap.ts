/** An entry the heap can order: its expiry (ms) and its slot in the heap, kept up to date by the heap (-1 when outside). */
export interface Expiring {
  expiresAt: number;
  heapIndex: number;
}

/** A binary min-heap on expiresAt whose entries know their slot, so removal and re-keying cost O(log n). */
export class ExpiryHeap<T extends Expiring> {
  private readonly items: T[] = [];

  /** Number of entries. */
  get size(): number {
    return this.items.length;
  }

  /** The entry that expires first. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Calls `drop` (which must remove it) for up to `limit` entries expired at `now`, soonest first; returns how many. */
  dropExpired(now: number, limit: number, drop: (item: T) => void): number {
    let n = 0;
    for (let e = this.peek(); e && e.expiresAt <= now && n < limit; e = this.peek(), n++) drop(e);
    return n;
  }

  /** Adds an entry (heapIndex must be -1). */
  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  /** Restores the order after item.expiresAt changed. */
  update(item: T): void {
    if (item.heapIndex < 0) return;
    this.down(this.up(item.heapIndex));
  }

  /** Takes an entry out; nothing happens when it is not in the heap. */
  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0 || this.items[i] !== item) return;
    const last = this.items.pop()!;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.down(this.up(i));
  }

  /** Empties the heap. */
  clear(): void {
    for (const item of this.items) item.heapIndex = -1;
    this.items.length = 0;
  }

  private up(i: number): number {
    const items = this.items;
    const item = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p.expiresAt <= item.expiresAt) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
    return i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && items[r]!.expiresAt < items[l]!.expiresAt ? r : l;
      const child = items[c]!;
      if (child.expiresAt >= item.expiresAt) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
