/**
 * The DNS client's numeric options: ONE table (name, default, bounds, unit) and the one reader that checks an option
 * against a table. The locator's table (locator/options.ts) uses the same spec and reader and re-exports this one.
 */
import { SipLocateError } from '../errors';

/** A numeric option: default, inclusive bounds, unit; whole numbers when `integer`. */
export interface NumberOptionSpec {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit: 'ms' | 's' | 'count' | 'bytes';
  /** Fractions are cut off (the option counts things). */
  readonly integer: boolean;
}

const DAY = 86400;

/** Every numeric DNS client option with its default and bounds: the single source of these defaults. */
export const DNS_OPTIONS = {
  /** First guess and ceiling of each nameserver's retransmission timeout (with adaptive off: the timeout). */
  timeoutMs: { default: 2000, min: 1, max: 60000, unit: 'ms', integer: true },
  tries: { default: 3, min: 1, max: 10, unit: 'count', integer: true },
  maxTimeoutMs: { default: 5000, min: 1, max: 600000, unit: 'ms', integer: true },
  minTtl: { default: 0, min: 0, max: DAY, unit: 's', integer: true },
  maxTtl: { default: 3600, min: 0, max: 7 * DAY, unit: 's', integer: true },
  maxCnameChain: { default: 8, min: 0, max: 32, unit: 'count', integer: true },
  maxInFlight: { default: 256, min: 1, max: 65536, unit: 'count', integer: true },
  /** Default: a quarter of maxInFlight (64 with its default); never above maxInFlight. */
  maxInFlightPerDomain: { default: 64, min: 1, max: 65536, unit: 'count', integer: true },
  maxQueued: { default: 16384, min: 0, max: 1_000_000, unit: 'count', integer: true },
  maxQueueWaitMs: { default: 10000, min: 1, max: 600000, unit: 'ms', integer: true },
  staleSeconds: { default: DAY, min: 0, max: 30 * DAY, unit: 's', integer: true },
  staleAnswerMs: { default: 1800, min: 0, max: 60000, unit: 'ms', integer: true },
  cacheBytes: { default: 32 * 1024 * 1024, min: 0, max: 2 ** 40, unit: 'bytes', integer: true },
  cacheSize: { default: 10000, min: 0, max: 10_000_000, unit: 'count', integer: true },
} as const satisfies Record<string, NumberOptionSpec>;

/** The boolean DNS client options that are on unless set to false. */
export const DNS_SWITCHES = { hedge: true, adaptive: true, useAdditional: true, dns0x20: true, rotate: false } as const;

/** Reads one numeric option against its spec: the default when absent; throws EINVALIDOPTION when out of bounds. */
export function readNumberOption(name: string, spec: NumberOptionSpec, value: unknown, max: number = spec.max): number {
  if (value === undefined) return spec.default;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < spec.min || value > max) {
    throw new SipLocateError('EINVALIDOPTION', `The option ${name} must be a number from ${spec.min} to ${max}.`, {
      option: name,
    });
  }
  return spec.integer ? Math.floor(value) : value;
}

/** Reads one numeric DNS client option against DNS_OPTIONS. */
export function dnsOption(name: keyof typeof DNS_OPTIONS, value: unknown, max?: number): number {
  return readNumberOption(name, DNS_OPTIONS[name], value, max);
}
