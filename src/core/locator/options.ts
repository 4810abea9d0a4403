/**
 * The locator's settings: ONE table of every numeric and choice option (name, default, bounds, unit), the one reader
 * that checks an option against it, and the settings a locator runs with. Node config and the editor can read the same
 * table (LOCATOR_OPTIONS) for their defaults. The DNS client's own options (timeoutMs, tries, minTtl, ...) have their
 * table in dns/options.ts (DNS_OPTIONS), re-exported here: one table per layer.
 */
import { SipLocateError } from '../errors';
import { isTransport } from '../rfc3263/transports';
import { ADDRESS_LOOKUPS, type AddressLookup, type SystemLookup } from '../system/lookup';
import type { SystemSources } from '../system/settings';
import type { DnsQuerier } from '../dns/types';
import type { FamilyPolicy, LocatorOptions, Transport } from '../types';
import { readSets, type Sets } from '../sets';

import { DNS_OPTIONS, readNumberOption, type NumberOptionSpec } from '../dns/options';

export { DNS_OPTIONS, DNS_SWITCHES, type NumberOptionSpec } from '../dns/options';

/** A choice option: default and the allowed values. */
export interface ChoiceOptionSpec<T extends string = string> {
  readonly default: T;
  readonly choices: readonly T[];
}

const DAY = 86400;

/** Every numeric locator option with its default and bounds: the single source of these defaults. */
export const LOCATOR_OPTIONS = {
  maxTargets: { default: 32, min: 1, max: 1024, unit: 'count', integer: true },
  maxQueriesPerLocate: { default: 64, min: 1, max: 10000, unit: 'count', integer: true },
  resolveTimeoutMs: { default: 10000, min: 1, max: 600000, unit: 'ms', integer: false },
  /** Plans kept; the same bound as the DNS client's answer cache, which takes the same option. */
  cacheSize: DNS_OPTIONS.cacheSize,
  maxPins: { default: 100_000, min: 1, max: 10_000_000, unit: 'count', integer: true },
  maxMarks: { default: 100_000, min: 1, max: 10_000_000, unit: 'count', integer: true },
  /** How long last good plans are kept: the DNS client's serve-stale window, which takes the same option. */
  staleSeconds: { ...DNS_OPTIONS.staleSeconds, integer: false },
  /** Bytes of all last good plans one locator keeps (what a shared store can make it hold is bounded by this). */
  staleBytes: { default: 8 * 1024 * 1024, min: 0, max: 1024 ** 3, unit: 'bytes', integer: true },
  pinSeconds: { default: 7200, min: 1, max: 30 * DAY, unit: 's', integer: false },
  greylistSeconds: { default: 32, min: 0, max: DAY, unit: 's', integer: false },
  maxBlacklistSeconds: { default: 3600, min: 0, max: DAY, unit: 's', integer: false },
  systemTtl: { default: 30, min: 0, max: DAY, unit: 's', integer: false },
} as const satisfies Record<string, NumberOptionSpec>;

/** Every choice locator option with its default and allowed values. */
export const LOCATOR_CHOICES = {
  family: {
    default: 'ipv4-first',
    choices: ['ipv4', 'ipv6', 'ipv4-first', 'ipv6-first'],
  } as ChoiceOptionSpec<FamilyPolicy>,
  pinPolicy: { default: 'sticky', choices: ['sticky', 'failback'] } as ChoiceOptionSpec<'sticky' | 'failback'>,
  naptrNoMatch: { default: 'fail', choices: ['fail', 'fallback'] } as ChoiceOptionSpec<'fail' | 'fallback'>,
  addressLookup: { default: 'dns-then-system', choices: ADDRESS_LOOKUPS } as ChoiceOptionSpec<AddressLookup>,
  affinity: { default: 'destination', choices: ['destination', 'key'] } as ChoiceOptionSpec<'destination' | 'key'>,
} as const;

/** The transports enabled when the option is absent, in preference order. */
export const DEFAULT_TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];

/** Name of a numeric option of the table. */
export type NumberOptionName = keyof typeof LOCATOR_OPTIONS;

/** Reads one numeric option against the table: its default when absent; throws EINVALIDOPTION when out of bounds. */
export function numberOption(name: NumberOptionName, value: unknown): number {
  return readNumberOption(name, LOCATOR_OPTIONS[name], value);
}

/** Reads one choice option (`spec`: its entry in LOCATOR_CHOICES): its default when absent; throws EINVALIDOPTION for another value. */
export function choiceOption<T extends string>(name: string, spec: ChoiceOptionSpec<T>, value: unknown): T {
  const allowed: readonly string[] = spec.choices;
  const isChoice = (v: unknown): v is T => typeof v === 'string' && allowed.includes(v);
  if (value === undefined) return spec.default;
  if (!isChoice(value)) {
    const list = allowed.map((c) => `"${c}"`);
    throw new SipLocateError(
      'EINVALIDOPTION',
      `The option ${name} must be ${list.length === 2 ? list.join(' or ') : `one of ${allowed.join(', ')}`}.`,
      { option: name },
    );
  }
  return value;
}

/** Reads one boolean option: false when absent; throws EINVALIDOPTION for anything but true or false. */
function booleanOption(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new SipLocateError('EINVALIDOPTION', `The option ${name} must be true or false.`, { option: name });
  return value;
}

function transportsOption(value: unknown): Transport[] {
  if (value === undefined) return [...DEFAULT_TRANSPORTS];
  if (!Array.isArray(value) || value.length === 0)
    throw new SipLocateError(
      'EINVALIDOPTION',
      'The option transports must list at least one transport (udp, tcp, tls, sctp, ws, wss).',
    );
  const out: Transport[] = [];
  for (const t of value) {
    const name = String(t).trim().toLowerCase();
    if (!isTransport(name))
      throw new SipLocateError(
        'EINVALIDOPTION',
        `"${String(t).slice(0, 20)}" is not a transport; use udp, tcp, tls, sctp, ws or wss.`,
        { option: 'transports' },
      );
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** Options of createLocator(). */
export type CreateLocatorOptions = LocatorOptions;

/** What tests may inject besides the public options: a DNS querier, and where the system settings come from. */
export interface LocatorTestOptions extends LocatorOptions {
  /** Use this querier instead of a new DNS client (the locator then does not close it). */
  querier?: DnsQuerier;
  /** Where the system settings come from when no nameservers are given, and the OS resolver. */
  system?: SystemSources & { lookup?: SystemLookup };
}

/** The checked settings a locator runs with. */
export interface Settings {
  transports: Transport[];
  family: FamilyPolicy;
  sticky: boolean;
  failback: boolean;
  naptrNoMatch: 'fail' | 'fallback';
  maxTargets: number;
  maxQueries: number;
  resolveTimeoutMs: number;
  /** Plans kept (cacheSize; 0: none). */
  planLimit: number;
  maxPins: number;
  maxMarks: number;
  /** How long a last good plan is kept, ms (0: not kept). */
  staleMs: number;
  /** Bytes of all last good plans kept. */
  staleBytes: number;
  /** Reports for a destination named by IP address may mark the target for every destination. */
  numericReportsShared: boolean;
  pinMs: number;
  greylistSeconds: number;
  maxBlacklistSeconds: number;
  addressLookup: AddressLookup;
  systemTtl: number;
  /** affinity "key": a key given to locate() orders by rendezvous hashing and pins per (destination, key). */
  keyed: boolean;
  /** Destination sets by name (`set:NAME`). */
  sets: Sets;
}

/** Checks every locator option against the table; throws EINVALIDOPTION with a sentence for the first bad one. */
export function readSettings(o: LocatorOptions): Settings {
  const transports = transportsOption(o.transports);
  const family = choiceOption('family', LOCATOR_CHOICES.family, o.family);
  const failback = choiceOption('pinPolicy', LOCATOR_CHOICES.pinPolicy, o.pinPolicy) === 'failback';
  const naptrNoMatch = choiceOption('naptrNoMatch', LOCATOR_CHOICES.naptrNoMatch, o.naptrNoMatch);
  return {
    transports,
    family,
    sticky: o.sticky === true,
    failback,
    naptrNoMatch,
    maxTargets: numberOption('maxTargets', o.maxTargets),
    maxQueries: numberOption('maxQueriesPerLocate', o.maxQueriesPerLocate),
    resolveTimeoutMs: numberOption('resolveTimeoutMs', o.resolveTimeoutMs),
    planLimit: numberOption('cacheSize', o.cacheSize),
    maxPins: numberOption('maxPins', o.maxPins),
    maxMarks: numberOption('maxMarks', o.maxMarks),
    staleMs: numberOption('staleSeconds', o.staleSeconds) * 1000,
    staleBytes: numberOption('staleBytes', o.staleBytes),
    numericReportsShared: booleanOption('numericReportsShared', o.numericReportsShared),
    pinMs: numberOption('pinSeconds', o.pinSeconds) * 1000,
    greylistSeconds: numberOption('greylistSeconds', o.greylistSeconds),
    maxBlacklistSeconds: numberOption('maxBlacklistSeconds', o.maxBlacklistSeconds),
    addressLookup: choiceOption('addressLookup', LOCATOR_CHOICES.addressLookup, o.addressLookup),
    systemTtl: numberOption('systemTtl', o.systemTtl),
    keyed: choiceOption('affinity', LOCATOR_CHOICES.affinity, o.affinity) === 'key',
    sets: readSets(o.sets),
  };
}
