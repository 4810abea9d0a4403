/**
 * The state stores for library users (`node-red-contrib-sip-locate/store`): share a locator's marks and pins
 * with other processes through Redis, or keep them in a Node-RED-style context store.
 */
export { createRedisStore, parseRedisUrl, type RedisStoreOptions } from './redis';
export { createContextStore, CONTEXT_KEY, type ContextLike, type ContextStoreOptions } from './context';
export { linkStore, type LinkOptions, type StoreLink } from './link';
export type { RecordLimits } from './records';
export type { StateStore, StoreEvents, StoreKind, StoreStatus, WriteOutcome } from './types';
