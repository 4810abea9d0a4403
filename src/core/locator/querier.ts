/** Builds the locator's DNS querier: the nameservers given, else the system's; static records answer first. */
import { createDnsClient } from '../dns/client';
import type { DnsClient, DnsQuerier, QueryEvent } from '../dns/types';
import { SipLocateError } from '../errors';
import { noDnsQuerier } from '../system/no-dns';
import type { SearchSettings } from '../system/search';
import { loadSystemSettings } from '../system/settings';
import { withStaticRecords } from '../system/static-querier';
import { parseStaticRecords } from '../system/static-records';
import type { AddressLookup } from '../system/lookup';
import type { EventHub } from '../events';
import type { LocatorTestOptions } from './options';

/** The querier a locator asks, its own DNS client (to close; undefined when injected or absent), and the search list. */
export interface BuiltQuerier {
  querier: DnsQuerier;
  dns: DnsClient | undefined;
  /** The system's search list, when the system settings are in use. */
  search: SearchSettings | undefined;
}

/**
 * The querier for these options: an injected one, a DNS client for the nameservers given, or one for the system's
 * nameservers (with resolv.conf's search, ndots, timeout, attempts, rotate); throws ENONAMESERVER or EINVALIDNAMESERVER.
 */
export function buildQuerier(
  o: LocatorTestOptions,
  addressLookup: AddressLookup,
  onEvent: (event: QueryEvent) => void,
): BuiltQuerier {
  const statics = parseStaticRecords(o.staticRecords);
  const common = {
    cacheSize: o.cacheSize,
    minTtl: o.minTtl,
    maxTtl: o.maxTtl,
    dns0x20: o.dns0x20,
    clock: o.clock,
    staleSeconds: o.staleSeconds,
    staleAnswerMs: o.staleAnswerMs,
    cacheBytes: o.cacheBytes,
    maxTimeoutMs: o.maxTimeoutMs,
    adaptive: o.adaptive,
    hedge: o.hedge,
    onEvent,
  };
  const explicit = (o.nameservers ?? []).some((s) => typeof s === 'string' && s.trim().length > 0);
  if (o.querier) return { querier: withStaticRecords(o.querier, statics), dns: undefined, search: undefined };
  if (explicit) {
    const dns = createDnsClient({ nameservers: o.nameservers, timeoutMs: o.timeoutMs, tries: o.tries, ...common });
    return { querier: withStaticRecords(dns, statics), dns, search: undefined };
  }
  const sys = loadSystemSettings(o.system);
  const search = { domains: sys.conf.search, ndots: sys.conf.ndots };
  if (sys.nameservers.length > 0) {
    const dns = createDnsClient({
      nameservers: sys.nameservers,
      timeoutMs: o.timeoutMs ?? sys.conf.timeoutMs,
      tries: o.tries ?? sys.conf.attempts,
      rotate: sys.conf.rotate,
      ...common,
    });
    return { querier: withStaticRecords(dns, statics), dns, search };
  }
  if (addressLookup !== 'dns')
    return { querier: withStaticRecords(noDnsQuerier(sys.path), statics), dns: undefined, search };
  throw new SipLocateError(
    'ENONAMESERVER',
    `No nameserver is configured and the system lists none (${sys.path}); set nameservers or addressLookup "dns-then-system".`,
    { path: sys.path },
  );
}

/** Hands each finished DNS query to onQuery listeners and turns nameserver health changes into events. */
export class QueryEvents {
  private readonly listeners = new Set<(event: QueryEvent) => void>();
  /** Last seen state of each nameserver, to turn changes into nameserver-down/up events. */
  private readonly nsStates = new Map<string, string>();

  constructor(private readonly events: EventHub) {}

  /** Calls listener after each finished query; returns a function that stops it. */
  onQuery(listener: (event: QueryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** One finished query of `dns` (the locator's own client, if any). */
  queried(event: QueryEvent, dns: DnsClient | undefined): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a metrics listener must not break DNS
      }
    }
    if (!dns || event.outcome === 'cache') return;
    for (const ns of dns.nameserverStates()) {
      const was = this.nsStates.get(ns.address) ?? 'healthy';
      if (was === ns.state) continue;
      this.nsStates.set(ns.address, ns.state);
      this.events.emit({
        op: ns.state === 'failing' ? 'nameserver-down' : 'nameserver-up',
        nameserver: ns.address,
        state: ns.state,
        ...(ns.lastError ? { reason: ns.lastError } : {}),
      });
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
