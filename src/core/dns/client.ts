import { setMaxListeners } from 'node:events';
import { withDeadline } from '../deadline';
import { SipLocateError } from '../errors';
import { AnswerBuilder, type Found } from './answers';
import { DnsCache, cacheKey, type PositiveEntry } from './cache';
import { NameserverHealth, type NameserverState } from './health';
import { InFlightLimiter } from './limiter';
import { assertQueryName, normaliseName } from './names';
import { resolveNameservers } from './nameservers';
import { DNS_SWITCHES, dnsOption } from './options';
import { OUTAGE_CODES } from './outage';
import { Retrier } from './retries';
import type {
  DnsAnswer,
  DnsClient,
  DnsClientOptions,
  DnsClientStats,
  DnsRecord,
  QueryEvent,
  QueryOptions,
  RecordType,
} from './types';

/** Creates a stub resolver; throws EINVALIDOPTION / EINVALIDNAMESERVER / ENONAMESERVER for bad options. */
export function createDnsClient(options: DnsClientOptions = {}): DnsClient {
  return new StubResolver(options);
}

function zeroStats(): DnsClientStats {
  return {
    queries: 0,
    cacheHits: 0,
    merged: 0,
    udpAttempts: 0,
    tcpAttempts: 0,
    timeouts: 0,
    mismatched: 0,
    spoofSuspected: 0,
    truncated: 0,
    malformed: 0,
    additionalAccepted: 0,
    additionalRejected: 0,
    staleAnswers: 0,
    inFlight: 0,
    queued: 0,
  };
}

/** TTL of an answer served stale, seconds (RFC 8767 section 4). */
export const STALE_TTL = 30;
/** How long stale data is served without asking again after a refresh failed, ms (RFC 8767 section 5). */
export const RECHECK_MS = 30_000;
/** Stale data may be served after an outage: no nameserver gave an answer (not NXDOMAIN/NODATA, which are answers). */
function servesStale(err: unknown): boolean {
  return err instanceof SipLocateError && OUTAGE_CODES.has(err.code);
}

/** A network resolution and who waits for it: callers with a signal (holders) or without one (pinned). */
interface Flight {
  promise: Promise<Found>;
  controller: AbortController;
  holders: number;
  /** Someone waits without a signal, or the answer refreshes the cache in the background: never cancelled. */
  pinned: boolean;
}

class StubResolver implements DnsClient {
  readonly nameservers: readonly string[];
  private readonly staleMs: number;
  private readonly staleAnswerMs: number;
  private readonly now: () => number;
  private readonly onEvent?: (event: QueryEvent) => void;
  private readonly cache: DnsCache;
  private readonly counters = zeroStats();
  private readonly inflight = new Map<string, Flight>();
  private readonly limiter: InFlightLimiter;
  private readonly answers: AnswerBuilder;
  private readonly health: NameserverHealth;
  private readonly retrier: Retrier;
  private readonly closer = new AbortController();
  private closed = false;

  constructor(options: DnsClientOptions) {
    const servers = resolveNameservers(options.nameservers);
    this.nameservers = servers.map((s) => s.label);
    const timeoutMs = dnsOption('timeoutMs', options.timeoutMs);
    const tries = dnsOption('tries', options.tries);
    const maxTimeoutMs = dnsOption('maxTimeoutMs', options.maxTimeoutMs);
    const minTtl = dnsOption('minTtl', options.minTtl);
    const maxTtl = dnsOption('maxTtl', options.maxTtl);
    if (maxTtl < minTtl)
      throw new SipLocateError('EINVALIDOPTION', 'The option maxTtl must not be below minTtl.', { option: 'maxTtl' });
    const maxChain = dnsOption('maxCnameChain', options.maxCnameChain);
    const maxInFlight = dnsOption('maxInFlight', options.maxInFlight);
    this.limiter = new InFlightLimiter({
      maxInFlight,
      maxPerDomain:
        options.maxInFlightPerDomain === undefined
          ? Math.max(1, Math.floor(maxInFlight / 4))
          : dnsOption('maxInFlightPerDomain', options.maxInFlightPerDomain, maxInFlight),
      maxQueued: dnsOption('maxQueued', options.maxQueued),
      maxWaitMs: dnsOption('maxQueueWaitMs', options.maxQueueWaitMs),
    });
    const clock = options.clock;
    this.now = clock ? () => clock.now() : Date.now;
    this.onEvent = options.onEvent;
    this.staleMs = dnsOption('staleSeconds', options.staleSeconds) * 1000;
    this.staleAnswerMs = dnsOption('staleAnswerMs', options.staleAnswerMs);
    const cacheBytes = dnsOption('cacheBytes', options.cacheBytes);
    this.cache = new DnsCache(dnsOption('cacheSize', options.cacheSize), this.now, this.staleMs, cacheBytes);
    // Every attempt in flight listens for close(): many at once is normal, not a leak.
    setMaxListeners(0, this.closer.signal);
    this.health = new NameserverHealth(servers, this.now, options.random, options.rotate ?? DNS_SWITCHES.rotate);
    const retrier = (this.retrier = new Retrier({
      health: this.health,
      timeoutMs,
      maxTimeoutMs,
      tries,
      use0x20: options.dns0x20 ?? DNS_SWITCHES.dns0x20,
      hedge: options.hedge ?? DNS_SWITCHES.hedge,
      adaptive: options.adaptive ?? DNS_SWITCHES.adaptive,
      now: this.now,
      limiter: this.limiter,
      counters: this.counters,
      closed: this.closer.signal,
    }));
    this.answers = new AnswerBuilder({
      retrier,
      cache: this.cache,
      counters: this.counters,
      now: this.now,
      minTtl,
      maxTtl,
      maxChain,
      useAdditional: options.useAdditional ?? DNS_SWITCHES.useAdditional,
    });
  }

  /** Resolves one question from cache or network; negative answers reject with ENOTFOUND / ENODATA. */
  async query<T extends RecordType>(name: string, type: T, options?: QueryOptions): Promise<DnsAnswer<T>> {
    this.counters.queries++;
    const started = this.onEvent ? performance.now() : 0;
    if (this.closed) throw new SipLocateError('ECLOSED', 'The DNS client is closed.');
    const qname = typeof name === 'string' ? normaliseName(name) : '';
    assertQueryName(qname);
    const key = cacheKey(qname, type);
    const hit = this.fromCache<T>(key, qname, type);
    if (hit !== undefined) {
      this.counters.cacheHits++;
      if (hit instanceof SipLocateError) {
        this.emit(qname, type, 'error', started, { code: hit.code });
        throw hit;
      }
      this.emit(qname, type, 'cache', started, { records: hit.records });
      return hit;
    }
    const stale = this.staleMs > 0 ? this.cache.getStale(key) : undefined;
    if (stale && stale.recheckAt !== undefined && stale.recheckAt > this.now()) {
      // RFC 8767 failure recheck: a refresh failed a moment ago, so answer stale without asking again.
      this.emit(qname, type, 'stale', started, { records: stale.records });
      return this.staleAnswer<T>(stale, qname, type);
    }
    const flight = this.join(key, qname, type, options?.mayHedge);
    const signal = options?.signal;
    if (signal) flight.holders++;
    // Nobody else may cancel a refresh of stale data: it keeps running in the background.
    if (!signal || stale) flight.pinned = true;
    try {
      const found = stale
        ? await this.raceStale(flight.promise, signal, qname, type)
        : await raceAbort(flight.promise, signal, qname, type);
      if (found === 'stale') {
        this.emit(qname, type, 'stale', started, { records: stale!.records });
        return this.staleAnswer<T>(stale!, qname, type);
      }
      this.emit(qname, type, 'network', started, { records: found.records, nameserver: found.nameserver });
      return {
        name: qname,
        type,
        canonicalName: found.canonicalName,
        records: found.records as DnsRecord<T>[],
        ttl: found.ttl,
        fromCache: false,
        trust: 'answer',
        nameserver: found.nameserver,
      };
    } catch (err) {
      this.emit(qname, type, 'error', started, { code: err instanceof SipLocateError ? err.code : 'EBADRESP' });
      throw err;
    } finally {
      if (signal) this.leave(flight, signal);
    }
  }

  /** The network answer, or 'stale' when it takes longer than staleAnswerMs or fails for want of a working nameserver. */
  private raceStale(
    network: Promise<Found>,
    signal: AbortSignal | undefined,
    qname: string,
    type: RecordType,
  ): Promise<Found | 'stale'> {
    const answered = network.catch((err: unknown) => {
      if (servesStale(err)) return 'stale' as const;
      throw err;
    });
    let late: SipLocateError | undefined;
    return withDeadline(() => answered, {
      ms: this.staleAnswerMs,
      signal,
      ref: true,
      timeout: () =>
        (late = new SipLocateError(
          'ETIMEOUT',
          `No answer for ${type} ${qname} within ${this.staleAnswerMs} ms: stale data is served.`,
          { name: qname, type },
        )),
      cancelled: () =>
        new SipLocateError('ECANCELLED', `The query for ${type} ${qname} was cancelled.`, { name: qname, type }),
    }).catch((err: unknown) => {
      if (err !== undefined && err === late) return 'stale' as const;
      throw err;
    });
  }

  /** An expired RRset served under RFC 8767, with the TTL of 30 s that section 4 recommends. */
  private staleAnswer<T extends RecordType>(entry: PositiveEntry, qname: string, type: T): DnsAnswer<T> {
    this.counters.staleAnswers++;
    return {
      name: qname,
      type,
      canonicalName: entry.canonicalName,
      records: entry.records.map((r) => ({ ...r, ttl: STALE_TTL })) as DnsRecord<T>[],
      ttl: STALE_TTL,
      fromCache: true,
      trust: entry.trust,
      nameserver: entry.nameserver,
      stale: true,
    };
  }

  /** The network resolution in flight for a question, started when there is none. */
  private join(key: string, qname: string, type: RecordType, mayHedge: (() => boolean) | undefined): Flight {
    const known = this.inflight.get(key);
    if (known) {
      this.counters.merged++;
      return known;
    }
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    const flight: Flight = {
      promise: this.answers.resolve(qname, type, new Set([qname]), controller.signal, mayHedge),
      controller,
      holders: 0,
      pinned: false,
    };
    this.inflight.set(key, flight);
    const forget = (): void => {
      if (this.inflight.get(key) === flight) this.inflight.delete(key);
    };
    flight.promise.then(forget, (err: unknown) => {
      forget();
      // A failed refresh: serve the stale data at once for the next RECHECK_MS instead of asking again.
      const stale = servesStale(err) ? this.cache.getStale(key) : undefined;
      if (stale) stale.recheckAt = this.now() + RECHECK_MS;
    });
    return flight;
  }

  /** A caller with a signal stops waiting; the resolution is cancelled when it was the last one and nobody else needs it. */
  private leave(flight: Flight, signal: AbortSignal): void {
    flight.holders--;
    if (signal.aborted && flight.holders === 0 && !flight.pinned) flight.controller.abort();
  }

  /** Synchronous cache look-up: the answer, a cached negative as its error, or undefined on a miss. */
  peek<T extends RecordType>(name: string, type: T): DnsAnswer<T> | SipLocateError | undefined {
    if (this.closed || typeof name !== 'string') return undefined;
    const qname = normaliseName(name);
    return this.fromCache<T>(cacheKey(qname, type), qname, type);
  }

  nameserverStates(): NameserverState[] {
    return this.health.states((ns) => this.retrier.timerOf(ns).snapshot());
  }

  stats(): DnsClientStats {
    return { ...this.counters, inFlight: this.limiter.inFlight, queued: this.limiter.waiting };
  }

  clearCache(): void {
    this.cache.clear();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closer.abort();
    for (const flight of this.inflight.values()) flight.controller.abort();
    this.cache.clear();
    this.limiter.drain();
  }

  private fromCache<T extends RecordType>(
    key: string,
    qname: string,
    type: T,
  ): DnsAnswer<T> | SipLocateError | undefined {
    const entry = this.cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.kind === 'negative') {
      return new SipLocateError(entry.code, entry.message, {
        name: qname,
        type,
        nameserver: entry.nameserver,
        cached: true,
      });
    }
    return {
      name: qname,
      type,
      canonicalName: entry.canonicalName,
      records: entry.records as DnsRecord<T>[],
      ttl: Math.max(0, Math.ceil((entry.expiresAt - this.now()) / 1000)),
      fromCache: true,
      trust: entry.trust,
      nameserver: entry.nameserver,
    };
  }

  private emit(
    name: string,
    type: RecordType,
    outcome: QueryEvent['outcome'],
    started: number,
    extra: Partial<QueryEvent>,
  ): void {
    if (!this.onEvent) return;
    try {
      this.onEvent({ name, type, outcome, ms: performance.now() - started, ...extra });
    } catch {
      // an observer must never break resolution
    }
  }
}

/** Lets one caller stop waiting for a shared query without cancelling it for the others. */
function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  qname: string,
  type: RecordType,
): Promise<T> {
  if (!signal) return promise;
  const cancelled = (): SipLocateError =>
    new SipLocateError('ECANCELLED', `The query for ${type} ${qname} was cancelled.`, { name: qname, type });
  return withDeadline(() => promise, { ms: Number.POSITIVE_INFINITY, signal, timeout: cancelled, cancelled });
}
