#!/usr/bin/env node
/** The sip-locate command: resolve a SIP URI the RFC 3263 way (a tel: URI through ENUM first) and print the targets. */
import { createLocator } from './core/locator';
import { unexpected } from './core/errors';
import { DEFAULT_TRANSPORTS, DNS_OPTIONS, LOCATOR_CHOICES, LOCATOR_OPTIONS } from './core/locator/options';
import { runLab } from './lab-command';
import type { FamilyPolicy, LocateResult, TraceNode, Transport } from './core/types';
import type { DnsRecord, NameserverState } from './core/dns/types';
import type { TimerState } from './core/dns/rto';

/** The defaults the help shows, from the options tables. */
const D = { ...DNS_OPTIONS, ...LOCATOR_OPTIONS };
const USAGE = `Usage: sip-locate [options] URI
       sip-locate lab     (the SIP servers and DNS zone the example flows use, on 127.0.0.1; lab --help)

Finds the servers for a SIP or SIPS URI as RFC 3263 prescribes (NAPTR, then SRV, then A/AAAA)
and prints them in failover order. A tel: URI (tel:+12025550101) is first turned into a SIP URI
through ENUM (RFC 6116).

Options:
  --nameserver ADDR   nameserver to ask (ip, ip:port or [ipv6]:port); repeatable; default: the system's
                      (with resolv.conf's search list and ndots)
  --transports LIST   enabled transports in preference order (default ${DEFAULT_TRANSPORTS.join(',')})
  --family POLICY     ${LOCATOR_CHOICES.family.choices.join(' | ')} (default ${LOCATOR_CHOICES.family.default})
  --timeout MS        first DNS timeout per nameserver in milliseconds (default ${D.timeoutMs.default})
  --tries N           attempts per nameserver (default ${D.tries.default})
  --max-timeout MS    the most a DNS timeout grows to, in milliseconds (default ${D.maxTimeoutMs.default})
  --classic-timer     double the DNS timeout per attempt instead of adapting it to each nameserver's round trip
  --no-hedge          never ask a second nameserver while the first is late
  --naptr-fallback    use SRV when SIP NAPTRs exist but none is usable (default: fail)
  --max-targets N     print at most N targets (default ${D.maxTargets.default})
  --max-queries N     most DNS questions one resolution asks (default ${D.maxQueriesPerLocate.default})
  --address-lookup M  ${LOCATOR_CHOICES.addressLookup.choices.join(' | ')}: where A/AAAA come from (default ${LOCATOR_CHOICES.addressLookup.default})
  --enum-suffix NAME  ENUM suffix for tel: URIs, asked in the order given; repeatable (default e164.arpa)
  --enum-user-phone   send sip: URIs with user=phone through ENUM too
  --enum-fallback T   SIP URI template when ENUM finds nothing, e.g. 'sip:{number}@gateway.example.com'
  --key KEY           affinity key (caller, Call-ID, tenant): order each SRV priority by rendezvous hashing of it
  --json              print exactly one JSON object
  --trace             also print the resolution tree: questions, records with TTLs, where each target came from
  -h, --help          show this help
`;

interface CliOptions {
  nameservers: string[];
  transports?: Transport[];
  family?: FamilyPolicy;
  timeoutMs?: number;
  tries?: number;
  maxTimeoutMs?: number;
  /** false: --classic-timer. */
  adaptive?: boolean;
  /** false: --no-hedge. */
  hedge?: boolean;
  naptrFallback: boolean;
  maxTargets?: number;
  maxQueries?: number;
  addressLookup?: 'dns' | 'system' | 'dns-then-system';
  enumSuffixes: string[];
  enumForUserPhone: boolean;
  enumFallback?: string;
  json: boolean;
  trace: boolean;
  /** Affinity key (--key): the locator runs with affinity "key". */
  key?: string;
  uri?: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): CliOptions | 'help' {
  const o: CliOptions = {
    nameservers: [],
    naptrFallback: false,
    enumSuffixes: [],
    enumForUserPhone: false,
    json: false,
    trace: false,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value.`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const take = (): string => inline ?? value(i++, flag);
    switch (flag) {
      case '-h':
      case '--help':
        return 'help';
      case '--nameserver':
        o.nameservers.push(
          ...take()
            .split(/[\s,]+/)
            .filter(Boolean),
        );
        break;
      case '--transports':
        o.transports = take()
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean) as Transport[];
        break;
      case '--family':
        o.family = take() as FamilyPolicy;
        break;
      case '--timeout':
        o.timeoutMs = Number(take());
        break;
      case '--tries':
        o.tries = Number(take());
        break;
      case '--max-timeout':
        o.maxTimeoutMs = Number(take());
        break;
      case '--classic-timer':
        o.adaptive = false;
        break;
      case '--no-hedge':
        o.hedge = false;
        break;
      case '--max-targets':
        o.maxTargets = Number(take());
        break;
      case '--max-queries':
        o.maxQueries = Number(take());
        break;
      case '--address-lookup':
        o.addressLookup = take() as CliOptions['addressLookup'];
        break;
      case '--naptr-fallback':
        o.naptrFallback = true;
        break;
      case '--enum-suffix':
        o.enumSuffixes.push(take());
        break;
      case '--enum-user-phone':
        o.enumForUserPhone = true;
        break;
      case '--enum-fallback':
        o.enumFallback = take();
        break;
      case '--key':
        o.key = take();
        break;
      case '--json':
        o.json = true;
        break;
      case '--trace':
        o.trace = true;
        break;
      default:
        if (a.startsWith('-')) throw new UsageError(`Unknown option ${a}. Run sip-locate --help.`);
        if (o.uri !== undefined) throw new UsageError(`Give one URI only (got "${o.uri}" and "${a}").`);
        o.uri = a;
    }
  }
  if (o.uri === undefined)
    throw new UsageError('Give a SIP URI (or a tel: URI) to locate, for example: sip-locate sip:example.com');
  return o;
}

/**
 * Text from DNS (and anything else that reaches the terminal) with control characters written as \xNN: C0, DEL and
 * C1 (CSI, OSC), so a record cannot clear the screen, set the title or write the clipboard.
 */
function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex -- finding control bytes is the point
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One JSON line: JSON escapes C0 controls itself; DEL and C1 controls are escaped too (\u007f-\u009f), still valid JSON. */
function jsonLine(value: unknown): string {
  return (
    JSON.stringify(value).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n'
  );
}

function recordText(r: DnsRecord): string {
  const d = r.data as unknown;
  if (typeof d === 'string') return `${r.type} ${d}`;
  if (r.type === 'SRV') {
    const s = d as { priority: number; weight: number; port: number; target: string };
    return `SRV ${s.priority} ${s.weight} ${s.port} ${s.target}`;
  }
  const n = d as {
    order: number;
    preference: number;
    flags: string;
    services: string;
    regexp: string;
    replacement: string;
  };
  return `NAPTR ${n.order} ${n.preference} "${n.flags}" "${n.services}"${n.regexp ? ` "${n.regexp}"` : ''} ${n.replacement}`;
}

function treeLines(node: TraceNode, depth: number, out: string[]): void {
  const pad = '  '.repeat(depth);
  if (node.kind === 'note') {
    out.push(`${pad}- ${escapeControls(node.note ?? '')}`);
    return;
  }
  const head = node.type ? `${node.type} ${node.name}` : node.name;
  const how = node.outcome ? ` [${node.outcome}${node.code ? ' ' + node.code : ''}]` : '';
  out.push(`${pad}${escapeControls(`${head}${how}${node.note && node.outcome !== 'error' ? '  ' + node.note : ''}`)}`);
  for (const r of node.records ?? []) out.push(`${pad}    ${escapeControls(recordText(r))}  ttl=${r.ttl}`);
  for (const c of node.children) treeLines(c, depth + 1, out);
}

/** One line per nameserver: address, health, failures in a row, last error and next retry. */
function nameserverLines(states: readonly NameserverState[]): string {
  const lines = states.map(
    (s) =>
      `  ${s.address}  ${s.state}${s.consecutiveFailures ? ` (${s.consecutiveFailures} failures in a row, last ${escapeControls(String(s.lastError))}, retry at ${new Date(s.retryAt ?? 0).toISOString()})` : ''}${timerText(s.timer)}`,
  );
  return ['nameservers:', ...lines].join('\n') + '\n';
}

/** A nameserver's timer as --trace shows it: round trip, timeout and early copy, once a round trip was measured. */
function timerText(t: TimerState): string {
  if (t.srttMs === null) return '';
  return `  round trip ${t.srttMs} ms, timeout ${t.timeoutMs} ms${t.hedgeMs === null ? '' : `, early copy at ${t.hedgeMs} ms`}`;
}

function table(result: LocateResult): string {
  const rows = result.targets.map((t, i) => [
    String(i + 1),
    t.transport,
    t.address,
    String(t.port),
    String(t.family),
    escapeControls(t.host),
    t.source,
    String(t.ttl),
    t.mark ?? '',
  ]);
  const head = ['#', 'transport', 'address', 'port', 'family', 'host', 'from', 'ttl', 'mark'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string =>
    r
      .map((v, c) => v.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let opts: CliOptions | 'help';
  try {
    opts = parseArgs(argv);
  } catch (err) {
    const message = (err as Error).message;
    // With --json a usage error is one JSON object too, so scripts never have to parse stderr.
    if (argv.includes('--json')) process.stdout.write(jsonLine({ error: { code: 'EINVALIDOPTION', message } }));
    else process.stderr.write(`sip-locate: ${escapeControls(message)}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const uri = opts.uri!;
  let locator: ReturnType<typeof createLocator> | undefined;
  try {
    locator = createLocator({
      nameservers: opts.nameservers,
      transports: opts.transports,
      family: opts.family,
      timeoutMs: opts.timeoutMs,
      tries: opts.tries,
      maxTimeoutMs: opts.maxTimeoutMs,
      adaptive: opts.adaptive,
      hedge: opts.hedge,
      naptrNoMatch: opts.naptrFallback ? 'fallback' : 'fail',
      maxTargets: opts.maxTargets,
      maxQueriesPerLocate: opts.maxQueries,
      addressLookup: opts.addressLookup,
      enumSuffixes: opts.enumSuffixes.length > 0 ? opts.enumSuffixes : undefined,
      enumForUserPhone: opts.enumForUserPhone,
      enumFallback: opts.enumFallback,
      ...(opts.key !== undefined ? { affinity: 'key' as const } : {}),
    });
    const result = await locator.locate(uri, { trace: opts.trace, key: opts.key });
    if (opts.json) {
      const out: Record<string, unknown> = {
        uri,
        targets: result.targets.map((t) => ({
          transport: t.transport,
          address: t.address,
          port: t.port,
          family: t.family,
          host: t.host,
        })),
      };
      if (result.enum) out.enum = result.enum;
      if (result.affinityKey !== undefined) out.affinityKey = result.affinityKey;
      if (opts.trace) {
        out.trace = result.trace;
        out.nameservers = locator.dns?.nameserverStates() ?? [];
      }
      process.stdout.write(jsonLine(out));
    } else {
      if (opts.trace && result.trace) {
        const lines: string[] = [];
        treeLines(result.trace, 0, lines);
        process.stdout.write(lines.join('\n') + '\n\n' + nameserverLines(locator.dns?.nameserverStates() ?? []) + '\n');
      }
      if (result.enum)
        process.stdout.write(
          escapeControls(
            `ENUM ${result.enum.number} -> ${result.enum.uri}${result.enum.fallback ? ' (fallback)' : ` (${result.enum.domain}, order ${result.enum.order}, preference ${result.enum.preference})`}`,
          ) + '\n',
        );
      process.stdout.write(table(result) + '\n');
    }
    return 0;
  } catch (err) {
    const e = unexpected(err);
    if (opts.json) process.stdout.write(jsonLine({ uri, error: { code: e.code, message: e.message } }));
    else process.stderr.write(`sip-locate: ${e.code}: ${escapeControls(e.message)}\n`);
    if (opts.trace && !opts.json && locator?.dns) process.stderr.write(nameserverLines(locator.dns.nameserverStates()));
    return 1;
  } finally {
    locator?.close();
  }
}

(process.argv[2] === 'lab' ? runLab(process.argv.slice(3)) : main(process.argv.slice(2))).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sip-locate: ${escapeControls(String(err))}\n`);
    process.exitCode = 1;
  },
);
