/** The contract between a locator's state and a durable or shared store (Node-RED context store, Redis). */
import type { SipLocateError } from '../core/errors';
import type { LocatorState, PinRecord, StateChange } from '../core/types';

/** Which store keeps marks and pins beyond the process: none, a Node-RED context store, or Redis. */
export type StoreKind = 'memory' | 'context' | 'redis';

/** What a store tells its link about. */
export interface StoreEvents {
  /** The store is reachable (again): the link catches up. */
  up(): void;
  /** The store cannot be reached; the locator goes on from memory. */
  down(error: SipLocateError): void;
  /** Another instance changed marks or pins. */
  remote(change: StateChange): void;
  /** A record or message from the store was invalid and ignored; `key` names the store key when there is one. */
  invalid(error: SipLocateError, key?: string): void;
  /** A batch of writes is past its deadline (true) or all answered again (false); the link stays up meanwhile. */
  slow?(slow: boolean): void;
}

/** What the store did with one change of a batch. */
export interface WriteOutcome {
  /** The pin that stands, when a pin write lost to an earlier writer. */
  standing?: PinRecord;
  /** Why the change was skipped (a key of the wrong type, an invalid stored record). */
  invalid?: SipLocateError;
  /** The store key the outcome is about. */
  key?: string;
}

/** A place to keep marks and pins. Every method may reject with a SipLocateError (ESTOREDOWN, ESTORETIMEOUT). */
export interface StateStore {
  readonly kind: Exclude<StoreKind, 'memory'>;
  /** Starts connecting; reports through events from then on. */
  start(events: StoreEvents): void;
  /** Reads every live mark and pin in batches, handing each batch to `apply` (expiries on this host's clock). */
  load(apply: (batch: LocatorState) => void): Promise<void>;
  /** Writes a batch of changes in one round trip; one outcome per change, in order. A `reset` comes alone. */
  write(changes: readonly StateChange[]): Promise<WriteOutcome[]>;
  /** Writes out anything buffered. */
  flush(): Promise<void>;
  /** Flushes and disconnects. */
  close(): Promise<void>;
}

/** How a link to a store is doing, for status texts and the admin state endpoint. */
export interface StoreStatus {
  kind: StoreKind;
  state: 'memory' | 'connecting' | 'up' | 'down';
  /** When state last changed, ms since the epoch. */
  since: number;
  /** Why the store is down. */
  error?: { code: string; message: string };
  /** When the last catch-up finished. */
  lastSync?: number;
  /** True while a batch of writes is past its deadline but the store still answers. */
  slow?: boolean;
  /** Changes written, failed, received from other instances, and ignored as invalid. */
  written: number;
  failed: number;
  received: number;
  invalid: number;
  /** Changes queued for the store (bounded; additions dropped beyond the bound are rewritten from memory). */
  pending: number;
}
