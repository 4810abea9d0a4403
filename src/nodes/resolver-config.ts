/** A sip-resolver's saved properties, read into locator options and a state store configuration. */
import { SipLocateError } from '../core/errors';
import {
  DEFAULT_TRANSPORTS,
  DNS_OPTIONS,
  DNS_SWITCHES,
  LOCATOR_CHOICES,
  LOCATOR_OPTIONS,
  type NumberOptionSpec,
} from '../core/locator/options';
import type { FamilyPolicy, LocatorOptions, SetMember, Transport } from '../core/types';
import type { StoreKind } from '../store/types';
import { MONITOR_OPTIONS, type MonitorConfig } from '../monitor/settings';
import { DEFAULT_ENUM_SUFFIXES } from '../core/enum/step';

/** Where marks and pins are kept when the store setting is empty, and the Redis topology when that one is. */
const DEFAULT_STORE: StoreKind = 'memory';
const DEFAULT_REDIS_TOPOLOGY = 'single';

/** The locator options that take a number. */
type NumericOption = {
  [K in keyof LocatorOptions]-?: NonNullable<LocatorOptions[K]> extends number ? K : never;
}[keyof LocatorOptions];

/** An editor number field: the option it sets, that option's spec, and how many option units one field unit is. */
interface NumberField {
  option: NumericOption;
  spec: NumberOptionSpec;
  /** Option value = field value × scale (resolveTimeout is saved in seconds, resolveTimeoutMs is in ms). */
  scale: number;
}

/** Every numeric sip-resolver field and the option behind it: its default and bounds come from the options tables. */
export const RESOLVER_NUMBER_FIELDS = {
  greylist: { option: 'greylistSeconds', spec: LOCATOR_OPTIONS.greylistSeconds, scale: 1 },
  timeout: { option: 'timeoutMs', spec: DNS_OPTIONS.timeoutMs, scale: 1 },
  tries: { option: 'tries', spec: DNS_OPTIONS.tries, scale: 1 },
  maxTimeout: { option: 'maxTimeoutMs', spec: DNS_OPTIONS.maxTimeoutMs, scale: 1 },
  resolveTimeout: { option: 'resolveTimeoutMs', spec: LOCATOR_OPTIONS.resolveTimeoutMs, scale: 1000 },
  cacheSize: { option: 'cacheSize', spec: LOCATOR_OPTIONS.cacheSize, scale: 1 },
  minTtl: { option: 'minTtl', spec: DNS_OPTIONS.minTtl, scale: 1 },
  maxTtl: { option: 'maxTtl', spec: DNS_OPTIONS.maxTtl, scale: 1 },
  staleSeconds: { option: 'staleSeconds', spec: LOCATOR_OPTIONS.staleSeconds, scale: 1 },
  staleBytes: { option: 'staleBytes', spec: LOCATOR_OPTIONS.staleBytes, scale: 1 },
  staleAnswerMs: { option: 'staleAnswerMs', spec: DNS_OPTIONS.staleAnswerMs, scale: 1 },
  pinSeconds: { option: 'pinSeconds', spec: LOCATOR_OPTIONS.pinSeconds, scale: 1 },
  maxPins: { option: 'maxPins', spec: LOCATOR_OPTIONS.maxPins, scale: 1 },
  maxMarks: { option: 'maxMarks', spec: LOCATOR_OPTIONS.maxMarks, scale: 1 },
  systemTtl: { option: 'systemTtl', spec: LOCATOR_OPTIONS.systemTtl, scale: 1 },
  maxQueriesPerLocate: { option: 'maxQueriesPerLocate', spec: LOCATOR_OPTIONS.maxQueriesPerLocate, scale: 1 },
} as const satisfies Record<string, NumberField>;

/** The sip-resolver switches that are on unless unticked; a node saved before one existed runs with the option's default. */
export const RESOLVER_SWITCH_FIELDS = {
  hedge: DNS_SWITCHES.hedge,
  adaptive: DNS_SWITCHES.adaptive,
  numericReportsShared: false,
} as const;

/** A number field as the editor shows it: default and bounds in the field's unit. */
export interface EditorNumber {
  value: number;
  min: number;
  max: number;
  integer: boolean;
}

/** What the editor needs to show a new or old sip-resolver: every default and bound, taken from the options tables. */
export interface EditorDefaults {
  numbers: Record<string, EditorNumber>;
  choices: Record<string, string>;
  switches: Record<string, boolean>;
  transports: string;
  enumSuffixes: string;
}

/** The sip-resolver editor's defaults and bounds (scripts/copy-assets.mjs writes them into the editor HTML at build time). */
export function editorDefaults(): EditorDefaults {
  const numbers: Record<string, EditorNumber> = {};
  const fields: Record<string, NumberField> = RESOLVER_NUMBER_FIELDS;
  for (const [field, f] of Object.entries(fields)) {
    numbers[field] = {
      value: f.spec.default / f.scale,
      min: f.spec.min / f.scale,
      max: f.spec.max / f.scale,
      integer: f.spec.integer && f.scale === 1,
    };
  }
  for (const [field, spec] of Object.entries(MONITOR_OPTIONS))
    numbers[field] = { value: spec.default, min: spec.min, max: spec.max, integer: spec.integer };
  const choices = {
    family: LOCATOR_CHOICES.family.default,
    addressLookup: LOCATOR_CHOICES.addressLookup.default,
    pinPolicy: LOCATOR_CHOICES.pinPolicy.default,
    affinity: LOCATOR_CHOICES.affinity.default,
    store: DEFAULT_STORE,
    redisTopology: DEFAULT_REDIS_TOPOLOGY,
  };
  return {
    numbers,
    choices,
    switches: { ...RESOLVER_SWITCH_FIELDS },
    transports: DEFAULT_TRANSPORTS.join(','),
    enumSuffixes: DEFAULT_ENUM_SUFFIXES.join(', '),
  };
}

/** The properties the editor saves for a sip-resolver. */
export interface ResolverConfig extends MonitorConfig {
  id: string;
  /** 'sticky' (default) or 'failback': move a pin back to a better target that probing found up. */
  pinPolicy?: string;
  name?: string;
  nameservers?: string;
  transports?: string;
  family?: string;
  sticky?: boolean | string;
  greylist?: number | string;
  timeout?: number | string;
  tries?: number | string;
  /** Ceiling of the DNS retransmission timeout, ms (default 5000). */
  maxTimeout?: number | string;
  /** Adapt the DNS timeout to each nameserver's round trip (default on; off: the classic doubling timer). */
  adaptive?: boolean | string;
  /** Hedge a late DNS question to a second nameserver (default on). */
  hedge?: boolean | string;
  /** Bytes of all last good plans kept. */
  staleBytes?: number | string;
  /** A reported failure for a destination named by IP address marks the target for every destination. */
  numericReportsShared?: boolean | string;
  /** Seconds one lookup may take in all (default 10). */
  resolveTimeout?: number | string;
  cacheSize?: number | string;
  minTtl?: number | string;
  maxTtl?: number | string;
  /** Seconds expired DNS data is kept for serve-stale (RFC 8767; 0 = off). */
  staleSeconds?: number | string;
  /** Milliseconds a look-up with expired data waits for a nameserver before answering stale. */
  staleAnswerMs?: number | string;
  naptrFallback?: boolean | string;
  /** Seconds an unused sticky pin lasts. */
  pinSeconds?: number | string;
  /** Most pins and marks held in memory. */
  maxPins?: number | string;
  maxMarks?: number | string;
  /** Where marks and pins are kept: memory (default), a Node-RED context store, or Redis. */
  store?: string;
  /** The context store name from settings.js ('' = the default store). */
  contextStore?: string;
  redisUrl?: string;
  /** Redis key prefix; '' = sip-locate:<config node id>. */
  redisPrefix?: string;
  /** Where A/AAAA come from: dns, system or dns-then-system (default). */
  addressLookup?: string;
  /** Seconds addresses from the OS are used (default 30). */
  systemTtl?: number | string;
  /** Zone-file lines answered before DNS, one per line (default none). */
  staticRecords?: string;
  /** Most DNS questions per resolution (default 64). */
  maxQueriesPerLocate?: number | string;
  /** ENUM suffixes for tel: URIs, in order, separated by commas or spaces ('' = e164.arpa). */
  enumSuffixes?: string;
  /** Send sip: URIs with user=phone through ENUM too. */
  enumForUserPhone?: boolean | string;
  /** SIP URI template when ENUM finds nothing, like sip:{number}@gateway.example.com ('' = none: ENOENUM). */
  enumFallback?: string;
  /** 'destination' (default): one order and pin per destination; 'key': an affinity key orders by rendezvous hashing, pins per key. */
  affinity?: string;
  /** Destination set members as the editor lists them, in order; the rows of one set name form that set. */
  setMembers?: SetMemberRow[];
  /** PEM file with the CA that signs the Redis server's certificate (rediss:// only). */
  redisCaFile?: string;
  /** 'single' (default), 'sentinel' or 'cluster'. */
  redisTopology?: string;
  /** Sentinel addresses, host:port separated by commas or spaces. */
  redisSentinels?: string;
  redisMasterName?: string;
  /** Cluster seed node addresses, host:port separated by commas or spaces. */
  redisNodes?: string;
}

/** One row of the editor's destination set list. */
export interface SetMemberRow {
  set?: unknown;
  uri?: unknown;
  priority?: unknown;
  weight?: unknown;
}

/** The editor's rows as the sets option: rows grouped by set name, in list order (checked by createLocator). */
export function setsFromRows(rows: unknown): Record<string, SetMember[]> | undefined {
  if (!Array.isArray(rows) || rows.length === 0) return undefined;
  const sets = new Map<string, SetMember[]>(); // a Map: a row named "__proto__" stays a name (and is refused as one)
  for (const row of rows as SetMemberRow[]) {
    if (typeof row !== 'object' || row === null) continue;
    const name = typeof row.set === 'string' ? row.set.trim() : '';
    const member: SetMember = { uri: typeof row.uri === 'string' ? row.uri.trim() : '' };
    const priority = num(row.priority);
    const weight = num(row.weight);
    if (priority !== undefined) member.priority = priority;
    if (weight !== undefined) member.weight = weight;
    const list = sets.get(name);
    if (list) list.push(member);
    else sets.set(name, [member]);
  }
  return Object.fromEntries(sets);
}

/** Where a resolver keeps marks and pins, as read from its configuration. */
export interface StoreConfig {
  kind: StoreKind;
  /** Set when Redis was asked for through an environment variable that is unset: the resolver runs from memory, its store "down". */
  unsetRedisVariable?: string;
  contextStore?: string;
  redisUrl?: string;
  redisPrefix?: string;
  redisPassword?: string;
  redisCaFile?: string;
  redisTopology?: 'sentinel' | 'cluster';
  redisSentinels?: string[];
  redisMasterName?: string;
  redisNodes?: string[];
}

/** Longest environment variable name recognised in a `${NAME}` setting. */
const MAX_VARIABLE_NAME = 128;
/** `${NAME}` in a setting: Node-RED leaves it as text when the environment variable NAME is unset. */
const UNRESOLVED = new RegExp(`\\$\\{([A-Za-z_][A-Za-z0-9_]{0,${MAX_VARIABLE_NAME - 1}})\\}`);

/** A setting that named an unset environment variable. */
export interface UnsetVariable {
  setting: string;
  variable: string;
}

/**
 * The configuration with every text setting that still holds a `${NAME}` of an environment variable that is not set
 * (Node-RED leaves it as text) emptied, so that it counts as unset, and the list of those settings with the variable
 * each named. A `${NAME}` whose variable is set stays: a setting may expand it itself (monitorUris does).
 */
export function withoutUnsetVariables<C extends object>(
  c: C,
  env: NodeJS.ProcessEnv = process.env,
): { config: C; unset: UnsetVariable[] } {
  const emptied: Record<string, string> = {};
  const unset: UnsetVariable[] = [];
  for (const [setting, value] of Object.entries(c)) {
    if (typeof value !== 'string' || !value.includes('${')) continue;
    const m = [...value.matchAll(new RegExp(UNRESOLVED.source, 'g'))].find((v) => (env[v[1]!] ?? '') === '');
    if (!m) continue;
    emptied[setting] = '';
    unset.push({ setting, variable: m[1]! });
  }
  return { config: { ...c, ...emptied }, unset };
}

/** Reads and checks the state store settings; throws EINVALIDOPTION. `unset` lists the settings emptied by withoutUnsetVariables. */
export function storeFromConfig(
  c: ResolverConfig,
  id: string,
  password: string | undefined,
  contextStores: string[] | undefined,
  unset: readonly UnsetVariable[] = [],
): StoreConfig {
  const kind = (c.store || DEFAULT_STORE) as StoreKind;
  const redisVariable = unset.find((u) => u.setting === 'redisUrl')?.variable;
  // Redis named through an unset variable (an example imported without it): memory, with the store shown as down.
  if (kind === 'redis' && redisVariable && !(c.redisUrl ?? '').trim())
    return { kind: 'memory', unsetRedisVariable: redisVariable };
  if (kind === 'memory') return { kind };
  if (kind === 'context') {
    const name = (c.contextStore ?? '').trim();
    if (name && contextStores && !contextStores.includes(name)) {
      throw new SipLocateError(
        'EINVALIDOPTION',
        `There is no context store named "${name.slice(0, 40)}" in settings.js (contextStorage has: ${contextStores.join(', ') || 'none'}).`,
        { option: 'contextStore' },
      );
    }
    return { kind, contextStore: name || undefined };
  }
  if (kind === 'redis') {
    const url = (c.redisUrl ?? '').trim();
    if (!url)
      throw new SipLocateError(
        'EINVALIDOPTION',
        'The state store is Redis but no Redis URL is set; write one like redis://127.0.0.1:6379/0.',
        { option: 'redisUrl' },
      );
    const caFile = (c.redisCaFile ?? '').trim();
    const sentinel =
      c.redisTopology === 'sentinel'
        ? {
            redisTopology: 'sentinel' as const,
            redisSentinels: (c.redisSentinels ?? '').split(/[\s,]+/).filter(Boolean),
            redisMasterName: (c.redisMasterName ?? '').trim(),
          }
        : c.redisTopology === 'cluster'
          ? { redisTopology: 'cluster' as const, redisNodes: (c.redisNodes ?? '').split(/[\s,]+/).filter(Boolean) }
          : {};
    return {
      kind,
      redisUrl: url,
      redisPrefix: (c.redisPrefix ?? '').trim() || `sip-locate:${id}`,
      redisPassword: password || undefined,
      ...(caFile ? { redisCaFile: caFile } : {}),
      ...sentinel,
    };
  }
  throw new SipLocateError(
    'EINVALIDOPTION',
    `The state store must be memory, context or redis, not "${String(c.store).slice(0, 20)}".`,
    { option: 'store' },
  );
}

function num(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

/** Reads a checkbox the editor saved as a boolean or a string. */
export function bool(v: unknown): boolean {
  return v === true || v === 'true';
}

/** A switch the editor saved: undefined (the option's default) for a node saved before the switch existed. */
function switchOf(v: unknown): boolean | undefined {
  return v === undefined || v === null || v === '' ? undefined : bool(v);
}

/** Turns the editor's properties into locator options (validation happens in createLocator). */
export function optionsFromConfig(c: ResolverConfig): LocatorOptions {
  const list = (s: string | undefined): string[] =>
    (s ?? '')
      .split(/[\s,]+/)
      .map((x) => x.trim())
      .filter(Boolean);
  const transports = list(c.transports);
  const numbers: Partial<Record<NumericOption, number>> = {};
  const fields: Record<string, NumberField> = RESOLVER_NUMBER_FIELDS;
  const saved: Record<string, unknown> = { ...c };
  for (const [field, f] of Object.entries(fields)) {
    const n = num(saved[field]);
    numbers[f.option] = n === undefined ? undefined : n * f.scale;
  }
  return {
    ...numbers,
    nameservers: list(c.nameservers),
    transports: transports.length ? (transports.map((t) => t.toLowerCase()) as Transport[]) : undefined,
    family: (c.family || undefined) as FamilyPolicy | undefined,
    sticky: bool(c.sticky),
    pinPolicy: (c.pinPolicy || undefined) as LocatorOptions['pinPolicy'],
    hedge: switchOf(c.hedge),
    adaptive: switchOf(c.adaptive),
    numericReportsShared: switchOf(c.numericReportsShared),
    naptrNoMatch: bool(c.naptrFallback) ? 'fallback' : 'fail',
    addressLookup: (c.addressLookup || undefined) as LocatorOptions['addressLookup'],
    staticRecords: c.staticRecords || undefined,
    enumSuffixes: list(c.enumSuffixes).length > 0 ? list(c.enumSuffixes) : undefined,
    enumForUserPhone: bool(c.enumForUserPhone),
    enumFallback: (c.enumFallback ?? '').trim() || undefined,
    affinity: (c.affinity || undefined) as LocatorOptions['affinity'],
    sets: setsFromRows(c.setMembers),
  };
}
