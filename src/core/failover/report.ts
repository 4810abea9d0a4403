/** Reading a failure report from outside the flow (a proxy's query string or a JSON body): untrusted input. */
import { SipLocateError } from '../errors';
import { isTransport } from '../rfc3263/transports';
import { canonicalAddress } from '../target';
import { checkAffinityKey } from '../rfc3263/affinity';
import type { TargetKey } from '../types';

/** A checked failure or confirmation report. */
export interface FailureReport {
  uri: string;
  /** The target the report is about (`failed`, or `target` for a confirmation). */
  failed: TargetKey;
  /** Targets already tried for this request, besides `failed`. */
  tried: TargetKey[];
  /** True to confirm the target (also for a 2xx status). */
  ok: boolean;
  status?: number;
  retryAfter?: number;
  reason?: 'transport' | 'timeout';
  /** The affinity key the proxy located with (`key=$ci`), checked like LocateOptions.key. */
  key?: string;
}

/** Most targets a report's tried list may name. */
export const MAX_TRIED = 64;
const MAX_URI = 2100;
const MAX_KEY = 80;

const bad = (message: string): SipLocateError => new SipLocateError('EINVALIDMSG', message);

function keyFrom(transport: string, address: string, port: string | number): TargetKey | undefined {
  const t = transport.toLowerCase();
  const a = canonicalAddress(address);
  const p = typeof port === 'number' ? port : /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!isTransport(t) || a === undefined || !Number.isInteger(p) || p < 1 || p > 65535) return undefined;
  return { transport: t, address: a, port: p };
}

const KEY_TEXT = /^([a-z]+):(\[[0-9a-f:.]+\]|[0-9.]+):(\d{1,5})$/i;
const URI_TEXT = /^(sips?):(\[[0-9a-f:.]+\]|[0-9.]+):(\d{1,5});transport=([a-z]+)$/i;

/** Maps a URI's scheme and transport parameter to the transport: sips with tcp is TLS, sips with ws is WSS. */
function uriTransport(scheme: string, param: string): string {
  const p = param.toLowerCase();
  if (scheme.toLowerCase() !== 'sips') return p;
  return p === 'tcp' || p === 'tls' ? 'tls' : p === 'ws' || p === 'wss' ? 'wss' : '';
}

/** A target named in a report: "udp:192.0.2.1:5060", "tls:[2001:db8::1]:5061", its target.uri, or {transport, address, port}. */
export function readReportedTarget(v: unknown): TargetKey | undefined {
  if (typeof v === 'string') {
    if (v.length > MAX_KEY) return undefined;
    const k = KEY_TEXT.exec(v);
    if (k) return keyFrom(k[1]!, k[2]!.replace(/^\[|\]$/g, ''), k[3]!);
    const u = URI_TEXT.exec(v);
    if (u) return keyFrom(uriTransport(u[1]!, u[4]!), u[2]!.replace(/^\[|\]$/g, ''), u[3]!);
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (
    typeof o.transport !== 'string' ||
    typeof o.address !== 'string' ||
    (typeof o.port !== 'number' && typeof o.port !== 'string')
  )
    return undefined;
  return keyFrom(o.transport, o.address, o.port);
}

/** One value of a query string, which may arrive as a string, a number or (repeated parameters) an array of strings. */
function single(v: unknown, name: string): string | number | boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  throw bad(`The report's ${name} must be given once, as a plain value.`);
}

function integer(v: unknown, name: string, min: number, max: number): number | undefined {
  const s = single(v, name);
  if (s === undefined) return undefined;
  const n = typeof s === 'number' ? s : typeof s === 'string' && /^\d{1,10}$/.test(s.trim()) ? Number(s.trim()) : NaN;
  if (!Number.isInteger(n) || n < min || n > max)
    throw bad(
      `The report's ${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(String(s).slice(0, 20))}).`,
    );
  return n;
}

function triedList(v: unknown): TargetKey[] {
  if (v === undefined || v === null || v === '') return [];
  const items: unknown[] =
    typeof v === 'string'
      ? v
          .split(',')
          .filter((s) => s.trim().length > 0)
          .map((s) => s.trim())
      : Array.isArray(v)
        ? v
        : [v];
  if (items.length > MAX_TRIED)
    throw bad(`The report's tried list names ${items.length} targets; at most ${MAX_TRIED} are accepted.`);
  return items.map((item) => {
    const key = readReportedTarget(item);
    if (!key)
      throw bad(
        `The report's tried list holds ${JSON.stringify(String(typeof item === 'string' ? item : typeof item).slice(0, 40))}, which is not a target such as "udp:192.0.2.1:5060".`,
      );
    return key;
  });
}

/**
 * Reads a report: `{uri, failed, tried?, status?, retryAfter? (or retry_after), reason?, ok?, key?}`, as typed JSON or as
 * the strings of a query string (`tried` comma-separated). Returns it checked, or an EINVALIDMSG error saying what is wrong.
 */
export function parseReport(v: unknown): FailureReport | SipLocateError {
  try {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return bad('A failure report must be an object such as {uri, failed: "udp:192.0.2.1:5060", status: 503}.');
    const o = v as Record<string, unknown>;
    const uri = single(o.uri, 'uri');
    if (typeof uri !== 'string' || uri.length > MAX_URI)
      return bad('The report has no uri: name the SIP URI the proxy located (uri=sip:...).');
    const okRaw = single(o.ok, 'ok');
    const ok = okRaw === true || okRaw === 'true' || okRaw === '1' || okRaw === 1;
    if (okRaw !== undefined && !ok && okRaw !== false && okRaw !== 'false' && okRaw !== '0' && okRaw !== 0)
      return bad("The report's ok must be true or false.");
    const named = o.failed ?? o.target;
    if (named === undefined || named === null || named === '')
      return bad(
        `The report names no target: give ${ok ? 'target' : 'failed'} as "udp:192.0.2.1:5060" or the target's uri.`,
      );
    const failed = readReportedTarget(Array.isArray(named) ? undefined : named);
    if (!failed)
      return bad(
        `The report's ${o.failed !== undefined ? 'failed' : 'target'} value ${JSON.stringify(typeof named === 'string' ? named.slice(0, 40) : typeof named)} is not a target such as "udp:192.0.2.1:5060" or "tls:[2001:db8::1]:5061".`,
      );
    const status = integer(o.status, 'status', 100, 699);
    const retryAfter = integer(o.retryAfter ?? o.retry_after, 'retryAfter', 0, 2 ** 31 - 1);
    const reasonRaw = single(o.reason, 'reason');
    if (reasonRaw !== undefined && reasonRaw !== 'transport' && reasonRaw !== 'timeout')
      return bad('The report\'s reason must be "transport" or "timeout"; give SIP status codes as status.');
    const key = checkAffinityKey(single(o.key, 'key'), 'EINVALIDMSG');
    const report: FailureReport = { uri, failed, tried: triedList(o.tried), ok };
    if (key !== undefined) report.key = key;
    if (status !== undefined) report.status = status;
    if (retryAfter !== undefined) report.retryAfter = retryAfter;
    if (reasonRaw !== undefined) report.reason = reasonRaw;
    return report;
  } catch (err) {
    if (err instanceof SipLocateError) return err;
    throw err;
  }
}

/** True when a value is a report from outside the flow: it has a uri and failed or ok, whatever else it carries (targets, target, destination). */
export function isReport(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'uri' in v && ('failed' in v || 'ok' in v);
}
