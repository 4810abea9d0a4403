/** The "SIP" sidebar's runtime side: the deployed resolvers' snapshots, published over RED.comms on change, throttled, while an editor watches. */
import type { Request, Response } from 'express';
import type { NodeAPI } from 'node-red';

/** Comms topic prefix; one topic per resolver: sip-locate/state/<resolver id>. */
export const SIDEBAR_TOPIC = 'sip-locate/state/';
/** Shortest gap between two publishes for one resolver, ms (at most 4 per second). */
export const PUBLISH_INTERVAL_MS = 250;
/** How long one watch call keeps the feed publishing, ms; an open sidebar renews it every minute. */
export const WATCH_LEASE_MS = 180_000;

/** What the sidebar shows for one resolver: /state's body plus the id, name and recent destinations. */
export type SidebarSnapshot = Record<string, unknown> & { id: string };

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

/** Starts publishing one resolver's snapshot: the first change at once, later ones at most every PUBLISH_INTERVAL_MS. */
export function createStateFeed(RED: Pick<NodeAPI, 'comms'>, id: string, snapshot: () => SidebarSnapshot, intervalMs = PUBLISH_INTERVAL_MS): StateFeed {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  live.set(id, snapshot);
  const publish = (): void => {
    timer = undefined;
    if (closed || !watched()) return;
    last = Date.now();
    RED.comms?.publish(SIDEBAR_TOPIC + id, snapshot(), false);
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
      if (removed && watched()) RED.comms?.publish(SIDEBAR_TOPIC + id, { id, removed: true }, false);
    },
  };
}

/** The snapshots of every running resolver, by name. */
export function snapshots(): SidebarSnapshot[] {
  const out: SidebarSnapshot[] = [];
  for (const snap of live.values()) {
    try {
      out.push(snap());
    } catch {
      // a resolver closing at this moment is simply left out
    }
  }
  return out.sort((a, b) => String(a.name ?? a.id).localeCompare(String(b.name ?? b.id)));
}

/** GET /sip-locate/sidebar (the snapshots; ?watch=1 also starts the live feed) and POST /sip-locate/sidebar/watch (renews it). */
export function registerSidebarAdmin(RED: NodeAPI): void {
  RED.httpAdmin.get('/sip-locate/sidebar', RED.auth.needsPermission('sip-resolver.read'), (req: Request, res: Response) => {
    if (req.query?.watch === '1') watch();
    res.json({ resolvers: snapshots(), now: Date.now(), leaseMs: WATCH_LEASE_MS });
  });
  RED.httpAdmin.post('/sip-locate/sidebar/watch', RED.auth.needsPermission('sip-resolver.read'), (_req: Request, res: Response) => {
    watch();
    res.json({ leaseMs: WATCH_LEASE_MS });
  });
}
