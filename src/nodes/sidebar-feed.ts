/**
 * The "SIP" sidebar's runtime side: the deployed resolvers' snapshots, over the permission-checked HTTP endpoints,
 * and a change notice over RED.comms (throttled, only while an editor watches).
 *
 * Why a notice and not the snapshot: a node's RED.comms.publish goes to every comms connection, and Node-RED lets any
 * user with status.read connect; the node API has no way to address one session or to check a permission there. So
 * the notice carries only the resolver id, and the sidebar fetches the snapshot from GET /sip-locate/sidebar/:id,
 * which needs sip-resolver.read like GET /sip-resolver/:id/state.
 */
import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';

/** Comms topic prefix; one topic per resolver: sip-locate/state/<resolver id>. */
export const SIDEBAR_TOPIC = 'sip-locate/state/';
/** Shortest gap between two publishes for one resolver, ms (at most 4 per second). */
export const PUBLISH_INTERVAL_MS = 250;
/** How long one watch call keeps the feed publishing, ms; an open sidebar renews it every minute. */
export const WATCH_LEASE_MS = 180_000;
/**
 * Entries of each list (marks, pins, operator states, health, recent destinations) in one snapshot page: a sidebar
 * shows about this many rows usefully, and 200 pins take about 60 kB where 20,000 took 5.8 MB.
 */
export const SIDEBAR_PAGE = 200;
/** The lists a snapshot bounds, each with the time that orders it newest first. */
const PAGED: Record<string, (x: Record<string, unknown>) => number> = {
  pins: (x) => num(x.pinnedAt),
  marks: (x) => num(x.expiresAt),
  admin: (x) => num(x.since),
  health: (x) => num(x.since),
  recent: (x) => num(x.at),
};

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** What the sidebar shows for one resolver: /state's body plus the id, name and recent destinations. */
export type SidebarSnapshot = Record<string, unknown> & { id: string };

/** Which page of each list to send: entries [offset, offset + limit) newest first. */
export interface SnapshotPage {
  offset: number;
  limit: number;
}

/** What comms carries: which resolver changed (or went away), never its state. */
export interface SidebarNotice {
  id: string;
  changed?: true;
  removed?: true;
}

/**
 * One page of a snapshot: each list newest first, cut to `page`, with `totals` (every list's full length) and
 * `page`; other fields pass as they are.
 */
export function pageOf(
  snapshot: SidebarSnapshot,
  page: SnapshotPage = { offset: 0, limit: SIDEBAR_PAGE },
): SidebarSnapshot {
  const out: SidebarSnapshot = { ...snapshot };
  const totals: Record<string, number> = {};
  for (const [key, at] of Object.entries(PAGED)) {
    const list = snapshot[key];
    if (!Array.isArray(list)) continue;
    totals[key] = list.length;
    const items = list.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null);
    // Newest first; the sort is stable, so equal times keep the order the resolver gave.
    out[key] = items
      .map((x, i) => ({ x, i, t: at(x) }))
      .sort((a, b) => b.t - a.t || a.i - b.i)
      .slice(page.offset, page.offset + page.limit)
      .map((e) => e.x);
  }
  out.totals = totals;
  out.page = page;
  return out;
}

/** Reads ?offset=&limit= (limit at most SIDEBAR_PAGE); undefined when they are not whole numbers in range. */
export function readPage(query: unknown): SnapshotPage | undefined {
  const q = typeof query === 'object' && query !== null ? (query as Record<string, unknown>) : {};
  const int = (v: unknown, dflt: number): number =>
    v === undefined ? dflt : typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  const offset = int(q.offset, 0);
  const limit = int(q.limit, SIDEBAR_PAGE);
  if (!Number.isInteger(offset) || !Number.isInteger(limit) || limit < 1 || limit > SIDEBAR_PAGE) return undefined;
  return { offset, limit };
}

/** One resolver's feed: call changed() on every change; close() when the node closes. */
export interface StateFeed {
  changed(): void;
  close(removed: boolean): void;
}

const live = new Map<string, () => SidebarSnapshot>();
let watchedUntil = 0;

/** True while some editor has the sidebar open (its lease has not run out). */
export function watched(now = Date.now()): boolean {
  return now < watchedUntil;
}

/** Extends the watch lease (an editor opened or still shows the sidebar). */
export function watch(now = Date.now()): void {
  watchedUntil = now + WATCH_LEASE_MS;
}

/** Starts announcing one resolver's changes: the first at once, later ones at most every PUBLISH_INTERVAL_MS. */
export function createStateFeed(
  RED: Pick<NodeAPI, 'comms'>,
  id: string,
  snapshot: () => SidebarSnapshot,
  intervalMs = PUBLISH_INTERVAL_MS,
): StateFeed {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  live.set(id, snapshot);
  const notice = (n: SidebarNotice): void => RED.comms?.publish(SIDEBAR_TOPIC + id, n, false);
  const publish = (): void => {
    timer = undefined;
    if (closed || !watched()) return;
    last = Date.now();
    notice({ id, changed: true });
  };
  return {
    changed(): void {
      if (closed || timer || !watched()) return;
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) publish();
      else timer = setTimeout(publish, wait);
    },
    close(removed: boolean): void {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      if (live.get(id) === snapshot) live.delete(id);
      if (removed && watched()) notice({ id, removed: true });
    },
  };
}

/** One page of the snapshot of every running resolver, by name. */
export function snapshots(page?: SnapshotPage): SidebarSnapshot[] {
  const out: SidebarSnapshot[] = [];
  for (const snap of live.values()) {
    try {
      out.push(pageOf(snap(), page));
    } catch {
      // a resolver closing at this moment is simply left out
    }
  }
  const label = (s: SidebarSnapshot): string => (typeof s.name === 'string' ? s.name : s.id);
  return out.sort((a, b) => label(a).localeCompare(label(b)));
}

/** One page of one running resolver's snapshot, or undefined when it is not running. */
export function snapshotOf(id: string, page?: SnapshotPage): SidebarSnapshot | undefined {
  const snap = live.get(id);
  return snap ? pageOf(snap(), page) : undefined;
}

/**
 * GET /sip-locate/sidebar (every resolver, first page; ?watch=1 also starts the change notices),
 * GET /sip-locate/sidebar/:id?offset=&limit= (one resolver, any page) and POST /sip-locate/sidebar/watch (renews).
 */
export function registerSidebarAdmin(RED: NodeAPI): void {
  const badPage = (res: Response): void => {
    res.status(400).json({
      code: 'EINVALIDMSG',
      message: `offset must be a whole number from 0, and limit from 1 to ${SIDEBAR_PAGE}.`,
    });
  };
  RED.httpAdmin.get(
    '/sip-locate/sidebar',
    RED.auth.needsPermission('sip-resolver.read'),
    (req: Request, res: Response) => {
      const page = readPage(req.query);
      if (!page) return badPage(res);
      if (req.query?.watch === '1') watch();
      res.json({ resolvers: snapshots(page), now: Date.now(), leaseMs: WATCH_LEASE_MS, pageSize: SIDEBAR_PAGE });
    },
  );
  RED.httpAdmin.get(
    '/sip-locate/sidebar/:id',
    RED.auth.needsPermission('sip-resolver.read'),
    (req: Request, res: Response) => {
      const page = readPage(req.query);
      if (!page) return badPage(res);
      const id = req.params.id;
      const snap = typeof id === 'string' ? snapshotOf(id, page) : undefined;
      if (!snap) {
        res.status(404).json({ code: 'ENOTDEPLOYED', message: 'This sip-resolver is not deployed.' });
        return;
      }
      res.json({ resolver: snap, now: Date.now() });
    },
  );
  RED.httpAdmin.post(
    '/sip-locate/sidebar/watch',
    RED.auth.needsPermission('sip-resolver.read'),
    (_req: Request, res: Response) => {
      watch();
      res.json({ leaseMs: WATCH_LEASE_MS });
    },
  );
}
