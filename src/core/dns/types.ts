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
}

/** Per-query options. */
export interface QueryOptions {
  /** Abort the query (rejects with ECANCELLED). */
  signal?: AbortSignal;
}

/** What a resolution needs from a DNS client. Negative answers reject with ENOTFOUND / ENODATA. */
export interface DnsQuerier {
  /** Resolves one question, from cache or network. */
  query<T extends RecordType>(name: string, type: T, options?: QueryOptions): Promise<DnsAnswer<T>>;
  /** Synchronous cache look-up: the answer, a cached negative (as its error), or undefined on a miss. */
  peek<T extends RecordType>(name: string, type: T): DnsAnswer<T> | import('../errors').SipLocateError | undefined;
}

/** One event of a query, for --trace and the editor's Try-it panel. */
export interface QueryEvent {
  name: string;
  type: RecordType;
  /** 'cache' hit, 'network' answer, or 'error'. */
  outcome: 'cache' | 'network' | 'error';
  nameserver?: string;
  transport?: 'udp' | 'tcp';
  /** Records of the answer (answer section and accepted additionals). */
  records?: DnsRecord[];
  /** Error code when outcome is 'error'. */
  code?: string;
  /** Milliseconds spent. */
  ms: number;
}
