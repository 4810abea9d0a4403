import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { SipLocateError } from '../errors';

const LABEL_RE = /^[a-z0-9_*-](?:[a-z0-9_-]{0,61}[a-z0-9_-])?$/i;

/** Lower-case, without a trailing dot: the form every name takes inside the package. */
export function normaliseName(name: string): string {
  const n = name.endsWith('.') && name.length > 1 ? name.slice(0, -1) : name;
  return n.toLowerCase();
}

/** Throws EINVALIDNAME unless `name` is a host name that can be put on the wire (labels 1..63, name <= 253). */
export function assertQueryName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) {
    throw new SipLocateError('EINVALIDNAME', 'The DNS name is empty.', { name });
  }
  if (name.length > 253) {
    throw new SipLocateError('EINVALIDNAME', `The DNS name "${name.slice(0, 40)}..." is longer than 253 characters.`, {
      name,
    });
  }
  if (isIP(name)) {
    throw new SipLocateError('EINVALIDNAME', `"${name}" is an IP address, not a DNS name.`, { name });
  }
  for (const label of name.split('.')) {
    if (!LABEL_RE.test(label)) {
      throw new SipLocateError('EINVALIDNAME', `The DNS name "${name}" has an invalid label "${label.slice(0, 70)}".`, {
        name,
      });
    }
  }
}

/** True when `child` equals `parent` or lies below it (both normalised). */
export function isAtOrBelow(child: string, parent: string): boolean {
  return (
    child === parent ||
    (child.length > parent.length && child.endsWith(parent) && child[child.length - parent.length - 1] === '.')
  );
}

/** The zone a stub assumes for a question: the name without leading `_service`/`_proto` labels. */
export function bailiwickOf(name: string): string {
  let n = name;
  while (n.startsWith('_')) {
    const dot = n.indexOf('.');
    if (dot < 0) break;
    n = n.slice(dot + 1);
  }
  return n;
}

/** Randomises the case of ASCII letters (DNS 0x20), one random bit per letter. */
export function randomiseCase(name: string): string {
  const bits = randomBytes(Math.ceil(name.length / 8) + 1);
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const isLetter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
    const flip = (bits[i >> 3]! >> (i & 7)) & 1;
    out += isLetter ? (flip ? name[i]!.toUpperCase() : name[i]!.toLowerCase()) : name[i];
  }
  return out;
}

/** Second-level labels under two-letter country TLDs that are registries, not registrants (co.uk, com.au, ne.jp, ...). */
const COUNTRY_SECOND_LEVEL: ReadonlySet<string> = new Set([
  'ac',
  'co',
  'com',
  'edu',
  'go',
  'gov',
  'ne',
  'net',
  'or',
  'org',
]);

/**
 * The domain a question counts against for the fair share of in-flight work: its registrable domain, approximated
 * without a public suffix list as the last two labels (three under co.uk, com.au and the like), after dropping
 * leading `_service`/`_proto` labels. Names under one registrant's domain share one key however they vary below it.
 */
export function fairShareKey(name: string): string {
  const labels = bailiwickOf(name).split('.');
  if (labels.length <= 2) return labels.join('.');
  const tld = labels[labels.length - 1]!;
  const second = labels[labels.length - 2]!;
  const keep = tld.length === 2 && COUNTRY_SECOND_LEVEL.has(second) ? 3 : 2;
  return labels.slice(-keep).join('.');
}
