/** The change feed of a Redis store: changes other instances announce, and keys Redis reports expired. */
import { SipLocateError } from '../core/errors';
import type { StateChange } from '../core/types';
import { readChange, readTargetKey } from './records';
import type { StoreEvents } from './types';

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

/** The envelope every change travels in: who sent it, its record's time left, the change. */
export function envelope(self: string, change: StateChange, ttl: number): string {
  return JSON.stringify({ from: self, ttl, change });
}

/** Returns the pub/sub listener that turns feed messages into remote changes (invalid ones are counted, not applied). */
export function feedListener(o: FeedOptions, events: () => StoreEvents | undefined): (message: string, from: string) => void {
  const mine = `{"from":${JSON.stringify(o.self)},`;
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
    const env = typeof parsed === 'object' && parsed !== null ? (parsed as { from?: unknown; ttl?: unknown; change?: unknown }) : undefined;
    if (env?.from === o.self) return;
    const change = env ? readChange(env.change, o.now(), typeof env.ttl === 'number' ? env.ttl : undefined) : undefined;
    if (!change) {
      e.invalid(new SipLocateError('ESTORERECORD', `An invalid change arrived on ${o.channel} and was ignored.`), o.channel);
      return;
    }
    e.remote(change);
  };
}
