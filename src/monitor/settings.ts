/** The scheduled-probing settings of a sip-resolver, read and checked. */
import { SipLocateError } from '../core/errors';
import type { NumberOptionSpec } from '../core/locator/options';
import { parseCodeList, type FailoverPolicy } from '../core/failover/policy';
import { parseSipUri } from '../core/uri';

/** Most URIs one resolver monitors. */
export const MAX_MONITOR_URIS = 100;

/** What the monitor does, in ms. */
export interface MonitorSettings {
  /** SIP URIs to locate; every target they yield is probed. */
  uris: string[];
  intervalMs: number;
  /** Failed probes in a row that make a target down. */
  downAfter: number;
  /** Answered probes in a row that make a target up. */
  upAfter: number;
  /** How long one probe waits for a final response. */
  timeoutMs: number;
  /** The status codes that mean alive; undefined: any final response but 503. */
  upCodes?: FailoverPolicy;
}

/** The editor's monitor properties. */
export interface MonitorConfig {
  monitorUris?: string;
  monitorInterval?: number | string;
  monitorDownAfter?: number | string;
  monitorUpAfter?: number | string;
  monitorTimeout?: number | string;
  monitorUpCodes?: string;
}

/** The monitor's numeric settings as the editor saves them (seconds, counts): the single source of their defaults. */
export const MONITOR_OPTIONS = {
  monitorInterval: { default: 10, min: 0.5, max: 86400, unit: 's', integer: false },
  monitorDownAfter: { default: 2, min: 1, max: 100, unit: 'count', integer: true },
  monitorUpAfter: { default: 2, min: 1, max: 100, unit: 'count', integer: true },
  monitorTimeout: { default: 2, min: 0.1, max: 60, unit: 's', integer: false },
} as const satisfies Record<string, NumberOptionSpec>;

/** Reads one editor number (a number or text) against MONITOR_OPTIONS; counts must be whole. Throws EINVALIDOPTION. */
function numberOf(value: unknown, name: keyof typeof MONITOR_OPTIONS): number {
  const spec: NumberOptionSpec = MONITOR_OPTIONS[name];
  if (value === undefined || value === null || value === '') return spec.default;
  const n = Number(value);
  if (!Number.isFinite(n) || n < spec.min || n > spec.max || (spec.integer && !Number.isInteger(n))) {
    throw new SipLocateError(
      'EINVALIDOPTION',
      `${name} must be ${spec.integer ? 'a whole number' : 'a number'} from ${spec.min} to ${spec.max}.`,
      { option: name },
    );
  }
  return n;
}

/** Replaces ${NAME} with the environment variable's value; an unset variable is EINVALIDOPTION. */
function expand(line: string, env: (name: string) => string | undefined): string {
  return line.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = env(name);
    if (value === undefined || value === '')
      throw new SipLocateError(
        'EINVALIDOPTION',
        `monitorUris uses \${${name}}, but that environment variable is not set.`,
        { option: 'monitorUris' },
      );
    return value;
  });
}

/** Reads the monitor settings; undefined when no URI is given (no probing). Throws EINVALIDOPTION. */
export function monitorSettingsFrom(
  c: MonitorConfig,
  env: (name: string) => string | undefined = (n) => process.env[n],
): MonitorSettings | undefined {
  const lines = String(c.monitorUris ?? '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  const intervalS = numberOf(c.monitorInterval, 'monitorInterval');
  const downAfter = numberOf(c.monitorDownAfter, 'monitorDownAfter');
  const upAfter = numberOf(c.monitorUpAfter, 'monitorUpAfter');
  const timeoutS = numberOf(c.monitorTimeout, 'monitorTimeout');
  const upCodes = (c.monitorUpCodes ?? '').trim()
    ? parseCodeList(c.monitorUpCodes, 'monitorUpCodes', '', 2)
    : undefined;
  if (lines.length === 0) return undefined;
  if (lines.length > MAX_MONITOR_URIS)
    throw new SipLocateError(
      'EINVALIDOPTION',
      `monitorUris lists ${lines.length} URIs; at most ${MAX_MONITOR_URIS} can be monitored.`,
      { option: 'monitorUris' },
    );
  const uris = [...new Set(lines.map((l) => expand(l, env)))];
  for (const uri of uris) parseSipUri(uri); // EINVALIDURI now, not at every round
  return { uris, intervalMs: intervalS * 1000, downAfter, upAfter, timeoutMs: timeoutS * 1000, upCodes };
}
