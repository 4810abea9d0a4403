/** The change feed of a Redis store: changes other instances announce, and keys Redis reports expired. */
import { SipLocateError } from '../core/errors';
import type { StateChange } from '../core/types';
import { readChange } from './records';
import { readTargetKey } from '../core/target';
import type { StoreEvents } from './types';

/** Changes read from one message at most (a batch holds 500). */
const MAX_ITEMS = 10_000;

/** What the feed needs to know. */
export interface FeedOptions {
  /** This instance's id: its own announcements are skipped. */
  self: string;
  channel: string;
  expiredChannel: string;
  markPrefix: string;
  pinPrefix: string;
  now(): number;
}

/** The start of every message an instance sends: `{"from":<id>,"changes":[`; the changes follow, then `]}`. */
export function messageHead(self: string): string {
  return `{"from":${JSON.stringify(self)},"changes":[`;
}

/** One change's part of a message: the change and its record's time left (`record`: the record already as JSON). */
export function messageItem(change: StateChange, ttl: number, record?: string): string {
  if (record !== undefined && change.op === 'pin') {
    const replaces = change.replaces ? `,"replaces":${JSON.stringify(change.replaces)}` : '';
    return `{"ttl":${ttl},"change":{"op":"pin","pin":${record}${replaces}}}`;
  }
  if (record !== undefined && change.op === 'mark') return `{"ttl":${ttl},"change":{"op":"mark","mark":${record}}}`;
  return JSON.stringify({ ttl, change });
}

/** Returns the pub/sub listener that turns feed messages into remote changes (invalid ones are counted, not applied). */
export function feedListener(
  o: FeedOptions,
  events: () => StoreEvents | undefined,
): (message: string, from: string) => void {
  const mine = messageHead(o.self);
  return (message, from) => {
    const e = events();
    if (!e) return;
    if (from === o.expiredChannel) {
      if (message.startsWith(o.markPrefix)) {
        const [transport, address, port] = message.slice(o.markPrefix.length).split('|');
        const target = readTargetKey({ transport, address, port: Number(port) });
        if (target) e.remote({ op: 'expired', mark: target });
      } else if (message.startsWith(o.pinPrefix)) {
        e.remote({ op: 'expired', destination: message.slice(o.pinPrefix.length) });
      }
      return;
    }
    if (message.startsWith(mine)) return; // our own announcement, skipped without parsing
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      parsed = undefined;
    }
    const env =
      typeof parsed === 'object' && parsed !== null ? (parsed as { from?: unknown; changes?: unknown }) : undefined;
    if (env?.from === o.self) return;
    const items: unknown[] = Array.isArray(env?.changes) ? env.changes.slice(0, MAX_ITEMS) : [undefined];
    const now = o.now();
    for (const item of items) {
      const it = typeof item === 'object' && item !== null ? (item as { ttl?: unknown; change?: unknown }) : undefined;
      const change = it ? readChange(it.change, now, typeof it.ttl === 'number' ? it.ttl : undefined) : undefined;
      if (change) e.remote(change);
      else
        e.invalid(
          new SipLocateError('ESTORERECORD', `An invalid change arrived on ${o.channel} and was ignored.`),
          o.channel,
        );
    }
  };
}
