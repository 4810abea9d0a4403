import { isIP } from 'node:net';
import { SipLocateError } from '../errors';
import type { DnsRecord, NaptrData, RecordType, SrvData } from '../dns/types';

/** Static records by owner name (lower case, no trailing dot), then by type. */
export type StaticTable = Map<string, Map<RecordType, DnsRecord[]>>;

/** Most static records accepted. */
export const MAX_STATIC_RECORDS = 1000;
/** Longest static record line, characters. */
export const MAX_STATIC_LINE = 1024;
/** TTL of a static record without one, seconds. */
export const DEFAULT_STATIC_TTL = 300;

const NAME_RE = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const TYPES: readonly RecordType[] = ['A', 'AAAA', 'SRV', 'NAPTR'];

class LineError extends Error {}

/** Splits a zone-file line into fields: "quoted strings" (with \\ escapes) stay one field; ; starts a comment. */
function fields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === ';') break;
    if (c === '"') {
      let text = '';
      i++;
      for (;;) {
        if (i >= line.length) throw new LineError('a quoted string has no closing "');
        const d = line[i]!;
        if (d === '\\' && i + 1 < line.length) {
          text += line[i + 1];
          i += 2;
        } else if (d === '"') {
          i++;
          break;
        } else {
          text += d;
          i++;
        }
      }
      out.push(`"${text}`);
      continue;
    }
    let j = i;
    while (j < line.length && line[j] !== ' ' && line[j] !== '\t' && line[j] !== '"') j++;
    out.push(line.slice(i, j));
    i = j;
  }
  return out;
}

function domainName(text: string | undefined, what: string, allowRoot: boolean): string {
  if (text === undefined) throw new LineError(`${what} is missing`);
  if (allowRoot && text === '.') return '.';
  const name = text.toLowerCase().replace(/\.$/, '');
  if (!NAME_RE.test(name)) throw new LineError(`${what} "${text.slice(0, 60)}" is not a domain name`);
  return name;
}

function uint(text: string | undefined, what: string, max: number): number {
  if (text === undefined || !/^\d{1,10}$/.test(text) || Number(text) > max)
    throw new LineError(`${what} must be a whole number from 0 to ${max}`);
  return Number(text);
}

function quoted(text: string | undefined, what: string): string {
  if (text === undefined || !text.startsWith('"')) throw new LineError(`${what} must be a "quoted string"`);
  const s = text.slice(1);
  if (s.length > 255) throw new LineError(`${what} is longer than 255 characters`);
  return s;
}

/** Parses one record line: NAME [TTL] [IN] TYPE RDATA (TTL and IN in either order). */
function parseLine(line: string): DnsRecord {
  const f = fields(line);
  const name = domainName(f[0], 'the owner name', false);
  let i = 1;
  let ttl: number | undefined;
  for (let k = 0; k < 2; k++) {
    if (f[i] !== undefined && /^\d+$/.test(f[i]!) && ttl === undefined) ttl = uint(f[i++], 'the TTL', 2147483647);
    else if (f[i]?.toUpperCase() === 'IN') i++;
  }
  const type = (f[i++] ?? '').toUpperCase() as RecordType;
  if (!TYPES.includes(type))
    throw new LineError(`the type "${(f[i - 1] ?? '').slice(0, 20)}" is not one of A, AAAA, SRV, NAPTR`);
  const rdata = f.slice(i);
  const want = type === 'SRV' ? 4 : type === 'NAPTR' ? 6 : 1;
  if (rdata.length !== want)
    throw new LineError(`a ${type} record needs ${want} data field${want > 1 ? 's' : ''}, got ${rdata.length}`);
  const base = { name, ttl: ttl ?? DEFAULT_STATIC_TTL };
  if (type === 'A' || type === 'AAAA') {
    const address = rdata[0]!;
    if (isIP(address) !== (type === 'A' ? 4 : 6))
      throw new LineError(`"${address.slice(0, 60)}" is not an IPv${type === 'A' ? '4' : '6'} address`);
    return { ...base, type, data: type === 'AAAA' ? address.toLowerCase() : address };
  }
  if (type === 'SRV') {
    const target = isIP(rdata[3]!) ? rdata[3]!.toLowerCase() : domainName(rdata[3], 'the SRV target', true);
    const data: SrvData = {
      priority: uint(rdata[0], 'the SRV priority', 65535),
      weight: uint(rdata[1], 'the SRV weight', 65535),
      port: uint(rdata[2], 'the SRV port', 65535),
      target,
    };
    return { ...base, type, data };
  }
  const data: NaptrData = {
    order: uint(rdata[0], 'the NAPTR order', 65535),
    preference: uint(rdata[1], 'the NAPTR preference', 65535),
    flags: quoted(rdata[2], 'the NAPTR flags'),
    services: quoted(rdata[3], 'the NAPTR services'),
    regexp: quoted(rdata[4], 'the NAPTR regexp'),
    replacement: domainName(rdata[5], 'the NAPTR replacement', true),
  };
  return { ...base, type, data };
}

/** Parses static records (zone-file lines, as one text or a list); throws EINVALIDOPTION naming the line. */
export function parseStaticRecords(input: unknown): StaticTable {
  const table: StaticTable = new Map();
  if (input === undefined || input === null || input === '') return table;
  let lines: string[];
  if (typeof input === 'string') lines = input.split(/\r?\n/);
  else if (Array.isArray(input) && input.every((l) => typeof l === 'string'))
    lines = input.flatMap((l: string) => l.split(/\r?\n/));
  else
    throw new SipLocateError(
      'EINVALIDOPTION',
      'The option staticRecords must be text with one record per line, or a list of such lines.',
      { option: 'staticRecords' },
    );
  let count = 0;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith(';') || line.startsWith('#')) return;
    const n = index + 1;
    const bad = (why: string): SipLocateError =>
      new SipLocateError('EINVALIDOPTION', `staticRecords line ${n}: ${why}.`, { option: 'staticRecords', line: n });
    if (line.length > MAX_STATIC_LINE) throw bad(`the line is longer than ${MAX_STATIC_LINE} characters`);
    if (++count > MAX_STATIC_RECORDS) throw bad(`more than ${MAX_STATIC_RECORDS} records`);
    let record: DnsRecord;
    try {
      record = parseLine(line);
    } catch (err) {
      if (err instanceof LineError) throw bad(err.message);
      throw err;
    }
    let byType = table.get(record.name);
    if (!byType) table.set(record.name, (byType = new Map<RecordType, DnsRecord[]>()));
    const list = byType.get(record.type) ?? [];
    list.push(record);
    byType.set(record.type, list);
  });
  return table;
}
