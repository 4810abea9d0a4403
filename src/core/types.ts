import type { Clock } from './dns/clock';
import type { DnsRecord, RecordType } from './dns/types';

export type { Clock } from './dns/clock';

/** SIP transports, lower case as they appear in URIs and output. */
export type Transport = 'udp' | 'tcp' | 'tls' | 'sctp' | 'ws' | 'wss';

/** Address family policy for A/AAAA results. */
export type FamilyPolicy = 'ipv4' | 'ipv6' | 'ipv4-first' | 'ipv6-first';

/** Why sending to a target failed (RFC 3263 section 4.3). */
export type FailureReason = 'transport' | 'timeout' | '503';

/** A failure report for a target. */
export interface Failure {
  reason: FailureReason;
  /** Seconds from a Retry-After header (503 only). */
  retryAfter?: number;
  /** The SIP status code behind the failure, when there was one. */
  status?: number;
}

/** What identifies a target for marks: transport, address and port. */
export interface TargetKey {
  transport: Transport;
  address: string;
  port: number;
}

/** One place to send a request to. */
export interface Target extends TargetKey {
  family: 4 | 6;
  /** The host name the address belongs to (SRV target or URI host); the address itself for a numeric host. */
  host: string;
  /** How the target was found. */
  source: 'numeric' | 'naptr' | 'srv' | 'address' | 'system';
  /** Seconds this target stays valid per DNS (minimum TTL along the chain); 0 for numeric hosts. */
  ttl: number;
  /** A failure mark that was active when the list was made. */
  mark?: 'grey' | 'black';
  /** The target as a SIP URI to send to: `sip:[2001:db8::1]:5060;transport=udp`, `sips:` for tls and wss. */
  uri: string;
  /** The target's key as reports name it: `udp:192.0.2.1:5060`, IPv6 in brackets. */
  key: string;
}

/** The parsed parts of a SIP URI that matter for location. */
export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  /** Host name (lower case, no trailing dot) or IP literal (IPv6 without brackets). */
  host: string;
  /** 4 or 6 for IP literals, 0 for names. */
  hostKind: 0 | 4 | 6;
  /** True when the host name was written with a trailing dot (no search list applies). */
  absolute?: boolean;
  port?: number;
  /** The transport parameter, lower case, if present. */
  transport?: string;
  maddr?: string;
}

/** One node of a resolution tree (NAPTR -> SRV -> A/AAAA), for --trace and Try it. */
export interface TraceNode {
  /** 'enum' is the ENUM step of a tel: URI (RFC 6116), the first branch of its tree. */
  kind: 'uri' | 'enum' | 'naptr' | 'srv' | 'address' | 'numeric' | 'note';
  /** The question name, or a label for uri/note nodes. */
  name: string;
  type?: RecordType;
  /** 'cache' | 'network' | 'stale' (expired data served, RFC 8767) | 'static' (staticRecords) | 'system' (the OS resolver) | 'error' | 'skipped' */
  outcome?: 'cache' | 'network' | 'stale' | 'error' | 'skipped' | 'static' | 'system';
  records?: DnsRecord[];
  /** Error code, when outcome is 'error'. */
  code?: string;
  /** A human sentence (why a record was skipped, which rule applied). */
  note?: string;
  children: TraceNode[];
}

/** The outcome of locate(). */
export interface LocateResult {
  uri: string;
  /** Destination key (scheme, host, port, transport): the key of sticky pins. */
  destination: string;
  /** The failover order; targets[0] is the one to use now. Never empty. */
  targets: Target[];
  /** True when targets[0] is this destination's sticky server. */
  sticky: boolean;
  /** True when some of the DNS data was expired and served because no nameserver answered (RFC 8767). */
  stale: boolean;
  /** The resolution tree, when requested. */
  trace?: TraceNode;
  /** How ENUM turned a tel: (or user=phone) URI into the SIP URI located. */
  enum?: EnumResult;
  /** The affinity key the order was hashed with (affinity "key" and a key given); absent otherwise. */
  affinityKey?: string;
  /** For a destination set (`set:NAME`): each member's outcome, in set order. */
  members?: SetMemberResult[];
}

/** One member of a destination set as a locate found it: its targets' count, or its error. */
export interface SetMemberResult {
  uri: string;
  /** The member's destination key (absent when its URI could not be read). */
  destination?: string;
  /** How many of the set's targets came from this member (0 when it failed). */
  targets: number;
  error?: { code: string; message: string };
}

/** One member of a destination set: a SIP URI, domain or tel: URI, its set priority (lower first) and weight within it. */
export interface SetMember {
  uri: string;
  /** Lower is tried first (default: the member's position in the list, 1 for the first). */
  priority?: number;
  /** Share among members of equal priority (default 1; 0: only after the others, as in SRV). */
  weight?: number;
}

/** The ENUM step's outcome: the number, the SIP URI, and the record it came from (absent for a fallback). */
export interface EnumResult {
  /** The E.164 number, "+" and digits. */
  number: string;
  /** The SIP URI that was located. */
  uri: string;
  /** The ENUM domain whose NAPTR record gave the URI. */
  domain?: string;
  order?: number;
  preference?: number;
  /** True when no ENUM record was usable and enumFallback (or the user=phone URI itself) was used. */
  fallback?: boolean;
}

/** Per-call options of locate(). */
export interface LocateOptions {
  /** Build the resolution tree. */
  trace?: boolean;
  signal?: AbortSignal;
  /**
   * Affinity key (a caller, Call-ID, tenant; at most 256 characters, no control characters): with the locator option
   * affinity "key", servers of one priority are ordered by weighted rendezvous hashing of (key, server), and sticky
   * pins are kept per (destination, key). Ignored with affinity "destination".
   */
  key?: string;
}

/** A failure mark as kept and stored: the target, its colour and its expiry (ms since the epoch). */
export interface MarkRecord extends TargetKey {
  mark: 'grey' | 'black';
  expiresAt: number;
}

/** A sticky pin as kept and stored: the destination's server, when it was pinned and when the pin lapses (ms). */
export interface PinRecord {
  destination: string;
  target: Target;
  pinnedAt: number;
  expiresAt: number;
}

/** An operator state: drain (no new pins, listed after healthy targets), disable (skipped while others remain), enable (clears both). */
export type AdminState = 'drain' | 'disable' | 'enable';

/** An operator state of one target as kept and stored (expiresAt absent: until enabled). */
export interface AdminRecord extends TargetKey {
  state: AdminState;
  /** When it was set, ms since the epoch. */
  since: number;
  expiresAt?: number;
}

/** One recently located destination's targets in the failover order in force now (the rule of failover/order.ts). */
export interface DestinationOrder {
  destination: string;
  /** Every target, best first: what locate() lists, then disabled ones; marked ones carry their mark. */
  targets: Target[];
}

/** The state a locator shares between flows: failure marks and sticky pins (and, from a store, operator states). */
export interface LocatorState {
  marks: MarkRecord[];
  pins: PinRecord[];
  admin?: AdminRecord[];
  /** With state({ orders: true }): the recently located destinations, newest first, each in its current order. */
  orders?: DestinationOrder[];
  /** Last good plans, when a store reads them back (state() leaves them out; see savedPlans()). */
  plans?: PlanRecord[];
}

/** One host's addresses in a saved plan. */
export interface PlanHostRecord {
  host: string;
  v4: string[];
  v6: string[];
  /** Seconds, as DNS gave them. */
  ttl: number;
  /** From the operating system's resolver. */
  system?: boolean;
}

/** One step of a saved plan: an SRV RRset with its hosts' addresses, or one host and port. */
export type PlanRecordEntry =
  | {
      kind: 'srv';
      transport: Transport;
      source: 'naptr' | 'srv';
      srv: Array<{ priority: number; weight: number; port: number; target: string }>;
      hosts: PlanHostRecord[];
    }
  | {
      kind: 'address';
      transport: Transport;
      source: 'naptr' | 'address' | 'numeric';
      host: string;
      port: number;
      addrs: PlanHostRecord;
    };

/** A destination's last plan built from fresh DNS data, as kept in a store to route from during a DNS outage. */
export interface PlanRecord {
  destination: string;
  entries: PlanRecordEntry[];
  /** The plan's TTL when it was built, seconds. */
  ttl: number;
  /** When it was built, ms since the epoch. */
  savedAt: number;
  /** When a store drops it (savedAt + staleSeconds), ms since the epoch. */
  expiresAt: number;
}

/**
 * One change to marks or pins: what a state store writes, and what other instances apply.
 * `pin.replaces` names the target of the pin this one replaced, so a store can tell a replacement from a conflict.
 * `plan` is a destination's last good plan (serve-stale across restarts); it is kept by stores, not announced.
 */
export type StateChange =
  | { op: 'mark'; mark: MarkRecord }
  | { op: 'unmark'; target: TargetKey }
  | { op: 'pin'; pin: PinRecord; replaces?: TargetKey }
  | { op: 'unpin'; destination: string; target: TargetKey }
  | { op: 'expired'; mark?: TargetKey; destination?: string }
  | { op: 'reset' }
  | { op: 'admin'; admin: AdminRecord }
  | { op: 'plan'; plan: PlanRecord };

/** Options of createLocator(). */
export interface LocatorOptions {
  /** "ip", "ip:port" or "[ipv6]:port"; empty or absent means the system's (dns.getServers(), with resolv.conf's search, ndots, timeout, attempts). */
  nameservers?: string[];
  /** Enabled transports in preference order (default udp, tcp, tls). */
  transports?: Transport[];
  /** Address family policy (default ipv4-first). */
  family?: FamilyPolicy;
  /** Stick to a known good server per destination (default false). */
  sticky?: boolean;
  /** 'sticky' (default): a pin stays until it fails; 'failback': it moves back to a better target that probing found up. */
  pinPolicy?: 'sticky' | 'failback';
  /** Seconds an unused sticky pin lasts; each use renews it (default 7200). */
  pinSeconds?: number;
  /** Most sticky pins kept; beyond it the least recently used one is dropped (default 100000). */
  maxPins?: number;
  /** Most failure marks kept; beyond it the soonest-expiring one is dropped (default 100000). */
  maxMarks?: number;
  /** A reported 503 for a destination named by IP address marks the target for every destination too (default false: that destination only). */
  numericReportsShared?: boolean;
  /** Seconds a transport error or timeout greylists a target (default 32). */
  greylistSeconds?: number;
  /** Upper bound for a 503 Retry-After blacklist, seconds (default 3600). */
  maxBlacklistSeconds?: number;
  /** SIP NAPTRs present but none usable: 'fail' with ENOTRANSPORT (default) or 'fallback' to SRV. */
  naptrNoMatch?: 'fail' | 'fallback';
  /** First guess and ceiling of each nameserver's adaptive retransmission timeout, ms (default 2000); with adaptive false, the timeout. */
  timeoutMs?: number;
  /** Copies of a question per nameserver (default 3; up to 8 while they fit in the classic schedule's time). */
  tries?: number;
  /** Ceiling of the timeout doubled per copy, ms (default 5000). */
  maxTimeoutMs?: number;
  /** false: the classic timer (timeoutMs, doubled per copy) instead of one adapted to each nameserver's round trip (default true). */
  adaptive?: boolean;
  /** false: never hedge a late question to a second nameserver (default true). */
  hedge?: boolean;
  /** Upper bound on the whole resolution, ms (default 10000). */
  resolveTimeoutMs?: number;
  /** DNS cache entries (RRsets), LRU (default 10000). */
  cacheSize?: number;
  /** DNS cache bound in bytes; large RRsets count by their size (default 32 MiB). */
  cacheBytes?: number;
  /** TTL floor and cap, seconds (defaults 0 and 3600). */
  minTtl?: number;
  maxTtl?: number;
  /** 0x20 case randomisation over UDP (default true). */
  dns0x20?: boolean;
  /** Seconds expired DNS data, and each destination's last good plan, are kept to serve when no nameserver answers (RFC 8767; default 86400, 0 = off). */
  staleSeconds?: number;
  /** Bound on the bytes of all last good plans kept (about their JSON size; default 8 MiB); they are also at most cacheSize. */
  staleBytes?: number;
  /** How long a look-up with expired data waits for a nameserver before answering from it, ms (default 1800). */
  staleAnswerMs?: number;
  /** Largest number of targets returned (default 32; truncates, never fails). */
  maxTargets?: number;
  /** Most distinct DNS questions one resolution asks before it stops expanding (default 64). */
  maxQueriesPerLocate?: number;
  /** Where A/AAAA come from: 'dns', 'system' (the OS: hosts file, mDNS, nsswitch) or 'dns-then-system' (default). */
  addressLookup?: 'dns' | 'system' | 'dns-then-system';
  /** Seconds addresses from the OS are used (default 30). */
  systemTtl?: number;
  /** Zone-file lines (text or list) that answer before DNS, e.g. "pbx.example.com. 60 IN SRV 10 50 5060 a.example.com." (default none). */
  staticRecords?: string | string[];
  /** ENUM suffixes asked in order for tel: URIs (default ["e164.arpa"]). */
  enumSuffixes?: string[];
  /** Send SIP URIs with user=phone through ENUM too (default false). */
  enumForUserPhone?: boolean;
  /** SIP URI template used when ENUM finds nothing, like "sip:{number}@gateway.example.com" (default none: ENOENUM). */
  enumFallback?: string;
  /**
   * 'destination' (default): one order and one pin per destination, keys ignored. 'key': with a key given to
   * locate(), servers of one priority are ordered by weighted rendezvous hashing of (key, host:port), pins are per
   * (destination, key).
   */
  affinity?: 'destination' | 'key';
  /** Destination sets, located as `set:NAME`: each member through RFC 3263 (ENUM for tel:), in set priority order, shared by weight. */
  sets?: Record<string, SetMember[]>;
  /** Injected clock (ms) and random source in [0,1), for tests. */
  clock?: Clock;
  random?: () => number;
}

/** A parsed failoverCodes setting (parseFailoverCodes()). */
export interface FailoverPolicy {
  /** The setting, normalised: "408, 480, 5xx". */
  readonly text: string;
  /** True when a final response with this status moves on to the next target. */
  fails(status: number): boolean;
}

/** Per-request failover state that travels with a message: the list and what was tried. */
export interface FailoverState {
  destination: string;
  targets: readonly Target[];
  /** Targets already tried for this request, the one that just failed last. */
  tried: readonly TargetKey[];
  /** The affinity key the targets were located with (see LocateOptions.key). */
  key?: string;
}

/** Options of failoverFrom(): what else the reporter knows about the failure. */
export interface ReportOptions {
  /** Targets already tried for this request besides the failed one (keys such as "udp:192.0.2.1:5060", target uris or keys). */
  tried?: Array<TargetKey | string>;
  /** The SIP status code the target answered with. */
  status?: number;
  /** Seconds from the response's Retry-After header. */
  retryAfter?: number;
  /** Why it failed when there was no response. */
  reason?: 'transport' | 'timeout';
  /** Confirm the target instead of failing it. */
  ok?: boolean;
  /** Status codes that move on to the next target ("503", "408, 5xx"); default "503". */
  failoverCodes?: string | FailoverPolicy;
  /** The affinity key the request was located with (see LocateOptions.key). */
  key?: string;
  signal?: AbortSignal;
}

/** What failoverFrom() did: the destination's targets, the tried list (the next target last) and the next target. */
export interface ReportResult {
  uri: string;
  destination: string;
  targets: Target[];
  /** Targets tried for this request, the next one last. */
  tried: TargetKey[];
  /** The target to use now: the next one after a failure, the reported one after a confirmation; undefined when none is left. */
  target?: Target;
  /** True when the report confirmed the target. */
  confirmed: boolean;
  /** The affinity key used (as LocateResult.affinityKey). */
  affinityKey?: string;
  /** True when the next (or confirmed) target is the destination's sticky server. */
  sticky: boolean;
}
