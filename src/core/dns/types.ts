import type { SipLocateError } from '../errors';
import type { Clock } from './clock';
import type { NameserverState } from './health';

export type { NameserverState } from './health';

/** Record types the resolver asks for. */
export type RecordType = 'A' | 'AAAA' | 'SRV' | 'NAPTR';

/** NAPTR RDATA (RFC 3403). */
export interface NaptrData {
  order: number;
  preference: number;
  flags: string;
  services: string;
  regexp: string;
  /** Absolute name, lower-case, no trailing dot; "." kept as "." */
  replacement: string;
}

/** SRV RDATA (RFC 2782). */
export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  /** Absolute name, lower-case, no trailing dot; "." kept as "." (service not offered). May be an IP literal. */
  target: string;
}

/** RDATA by record type. A and AAAA data is the address in text form. */
export interface RecordDataMap {
  A: string;
  AAAA: string;
  SRV: SrvData;
  NAPTR: NaptrData;
}

/** One resource record as the resolver hands it out. */
export interface DnsRecord<T extends RecordType = RecordType> {
  /** Owner name, lower-case, no trailing dot. */
  name: string;
  type: T;
  /** Seconds left, already clamped (floor/cap); 0 means "use for this resolution only". */
  ttl: number;
  data: RecordDataMap[T];
}

/** Where an answer came from, strongest first. */
export type Trust = 'answer' | 'additional';

/** A positive answer to one question. */
export interface DnsAnswer<T extends RecordType = RecordType> {
  /** The question name (lower-case, no trailing dot). */
  name: string;
  type: T;
  /** The name at the end of any CNAME chain. */
  canonicalName: string;
  /** The RRset; never empty. */
  records: DnsRecord<T>[];
  /** Seconds the RRset stays valid (minimum along the chain, clamped). */
  ttl: number;
  /** True when served from the cache without network I/O. */
  fromCache: boolean;
  /** 'additional' when the RRset came from another reply's additional section. */
  trust: Trust;
  /** The nameserver ("ip:port" or "[ipv6]:port") that sent the data. */
  nameserver: string;
  /** True when expired data was served because no nameserver answered in time (RFC 8767); TTL is then 30. */
  stale?: boolean;
}

/** Per-query options. */
export interface QueryOptions {
  /** Abort the query (rejects with ECANCELLED); the network work stops when no other caller waits for it. */
  signal?: AbortSignal;
  /** Asked before a copy of the question is hedged to a second nameserver; false keeps it on the first (a question budget). */
  mayHedge?: () => boolean;
}

/** What a resolution needs from a DNS client. Negative answers reject with ENOTFOUND / ENODATA. */
export interface DnsQuerier {
  /** Resolves one question, from cache or network. */
  query<T extends RecordType>(name: string, type: T, options?: QueryOptions): Promise<DnsAnswer<T>>;
  /** Synchronous cache look-up: the answer, a cached negative (as its error), or undefined on a miss. */
  peek<T extends RecordType>(name: string, type: T): DnsAnswer<T> | SipLocateError | undefined;
}

/** One event of a query, for --trace and the editor's Try-it panel. */
export interface QueryEvent {
  name: string;
  type: RecordType;
  /** 'cache' hit, 'network' answer, 'stale' (expired data served, RFC 8767) or 'error'. */
  outcome: 'cache' | 'network' | 'stale' | 'error';
  nameserver?: string;
  transport?: 'udp' | 'tcp';
  /** Records of the answer (answer section and accepted additionals). */
  records?: DnsRecord[];
  /** Error code when outcome is 'error'. */
  code?: string;
  /** Milliseconds spent. */
  ms: number;
}

/** Options of createDnsClient(). */
export interface DnsClientOptions {
  /** "ip", "ip:port" or "[ipv6]:port"; empty or absent means the system's (/etc/resolv.conf). */
  nameservers?: string[];
  /** First guess and ceiling of each nameserver's retransmission timeout, ms (default 2000); with adaptive false, the timeout. */
  timeoutMs?: number;
  /** UDP copies of one question per nameserver (default 3); the budget is nameservers x tries. */
  tries?: number;
  /** Cap of the retransmission timeout, which grows per retransmission (x2, x1.5 once adapted), ms (default 5000; never below timeoutMs). */
  maxTimeoutMs?: number;
  /** Adapt each nameserver's timeout to its measured round trips, RFC 6298 style (default true; false pins it to timeoutMs). */
  adaptive?: boolean;
  /** Send a late question to a second healthy nameserver too, first answer wins (default true). */
  hedge?: boolean;
  /** Cached RRsets, LRU (default 10000). */
  cacheSize?: number;
  /** Upper bound of the cache in bytes as counted by entryBytes(): large RRsets count by their size (default 32 MiB). */
  cacheBytes?: number;
  /** TTL floor and cap, seconds (defaults 0 and 3600). */
  minTtl?: number;
  maxTtl?: number;
  /** Seconds expired RRsets are kept to serve when no nameserver answers (RFC 8767; default 86400, 0 = off). */
  staleSeconds?: number;
  /** How long a query with stale data waits for the network before answering stale, ms (default 1800). */
  staleAnswerMs?: number;
  /** 0x20 case randomisation over UDP (default true). */
  dns0x20?: boolean;
  /** Accept additional-section SRV/A/AAAA under the trust rules (default true). */
  useAdditional?: boolean;
  /** Longest CNAME chain followed (default 8). */
  maxCnameChain?: number;
  /** Most network attempts (sockets) in flight at once; more wait their turn (default 256). */
  maxInFlight?: number;
  /** Most attempts in flight for one registrable domain, its fair share (default maxInFlight / 4, i.e. 64). */
  maxInFlightPerDomain?: number;
  /** Most attempts waiting for a slot (default 16384); when full, the domain with the most waiting loses its newest (EOVERLOAD). */
  maxQueued?: number;
  /** Longest an attempt waits for a slot, ms (default 10000); then ETIMEOUT. */
  maxQueueWaitMs?: number;
  /** Start each question at the next healthy nameserver instead of the first (resolv.conf's `options rotate`; default false). */
  rotate?: boolean;
  /** Random source in [0,1) for the nameserver retry jitter (default Math.random). */
  random?: () => number;
  /** Milliseconds clock for TTLs (default Date.now). */
  clock?: Clock;
  /** Called once per finished query (cache hit, network answer or error). */
  onEvent?: (event: QueryEvent) => void;
}

/** Counters a client keeps since it was created. */
export interface DnsClientStats {
  /** query() calls. */
  queries: number;
  cacheHits: number;
  /** Calls merged into an identical query already in flight. */
  merged: number;
  udpAttempts: number;
  tcpAttempts: number;
  timeouts: number;
  /** Packets dropped for a wrong source, ID, flags or question. */
  mismatched: number;
  /** Wrong-ID packets from the right peer (each moves its query to TCP). */
  spoofSuspected: number;
  truncated: number;
  malformed: number;
  additionalAccepted: number;
  additionalRejected: number;
  /** Answers served from expired data (RFC 8767). */
  staleAnswers: number;
  /** Network attempts holding a slot now. */
  inFlight: number;
  /** Network attempts waiting for a slot now. */
  queued: number;
}

/** A stub resolver: DnsQuerier plus lifecycle and counters. */
export interface DnsClient extends DnsQuerier {
  /** The nameservers in use, as "ip:port" / "[ipv6]:port". */
  readonly nameservers: readonly string[];
  stats(): DnsClientStats;
  /** Each nameserver's health, in configured order. */
  nameserverStates(): NameserverState[];
  clearCache(): void;
  /** Closes sockets and timers; pending and later queries reject with ECLOSED. */
  close(): void;
}
