/** What sip-events sends per resolver event, and how many it queues. */
import type { ResolverEvent } from '../core/events';

/** Most events waiting to be sent; beyond it new ones are dropped and counted. */
export const MAX_QUEUED_EVENTS = 10_000;

/** msg.payload of one event. */
export function eventPayload(event: ResolverEvent, resolver: string): Record<string, unknown> {
  const { op, target, destination, reason, state, expiresAt, nameserver, at } = event;
  return {
    op,
    resolver,
    at,
    ...(target ? { target } : {}),
    ...(destination !== undefined ? { destination } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(state !== undefined ? { state } : {}),
    ...(expiresAt !== undefined ? { expiresAt } : {}),
    ...(nameserver !== undefined ? { nameserver } : {}),
  };
}
