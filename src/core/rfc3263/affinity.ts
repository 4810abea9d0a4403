/**
 * Weighted rendezvous (highest-random-weight) hashing: for an affinity key, every server of one SRV priority gets a
 * score from a hash of (key, server) and its weight; ordering by score gives each key its own failover order.
 * The same key orders the same way in every process (no state, no randomness), each server is first for a share of
 * keys proportional to its weight, and when a server is skipped only its own keys move, spread over the others by
 * their weights.
 */

import { SipLocateError } from '../errors';

/** Longest affinity key hashed, in UTF-16 code units (a longer one is refused by the caller's check). */
export const MAX_AFFINITY_KEY = 256;

/** The two 32-bit lanes of a hash state. */
interface Lanes {
  a: number;
  b: number;
}

/** Mixes one string into both lanes (two multiply-xor streams with different odd multipliers). */
function absorb(state: Lanes, text: string): Lanes {
  let a = state.a;
  let b = state.b;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  // A separator, so ("ab", "c") and ("a", "bc") differ.
  return { a: Math.imul(a ^ 0xff, 0x01000193), b: Math.imul(b ^ 0xff, 0x5bd1e995) };
}

/** The murmur3 32-bit finaliser: every input bit affects every output bit. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A uniform number in (0, 1) from (key, server), with 53 bits. */
function unit(key: Lanes, server: string): number {
  const s = absorb(key, server);
  const hi = finish(s.a ^ Math.imul(s.b, 0x27d4eb2f)) >>> 11; // 21 bits
  const lo = finish(s.b ^ Math.imul(s.a, 0x165667b1)); // 32 bits
  return (hi * 4294967296 + lo + 0.5) / 9007199254740992;
}

/** The hash state of an affinity key, computed once and reused for every server. */
export function keyState(key: string): Lanes {
  return absorb({ a: 0x811c9dc5, b: 0x9747b28c }, key);
}

/**
 * The score of a server for a key: an exponential race, -ln(u) / weight, lowest first. The server that is lowest for
 * a key is so with probability weight / sum of weights, and the order of the rest follows the same rule.
 */
export function raceScore(key: Lanes, server: string, weight: number): number {
  return -Math.log(unit(key, server)) / weight;
}

/**
 * Orders items of one priority for a key: the weighted ones by rendezvous score (lowest first), then the weight-0
 * ones (RFC 2782: chosen only after the others) by their score at weight 1.
 */
export function orderByKey<T>(
  items: readonly T[],
  key: string,
  idOf: (item: T) => string,
  weightOf: (item: T) => number,
): T[] {
  const state = keyState(key);
  const scored = items.map((item) => {
    const w = weightOf(item);
    return { item, zero: w <= 0, score: raceScore(state, idOf(item), w > 0 ? w : 1) };
  });
  scored.sort((x, y) => (x.zero === y.zero ? x.score - y.score : x.zero ? 1 : -1));
  return scored.map((s) => s.item);
}

/** Control characters (C0, DEL, C1) and lone line separators: refused in keys, which reach logs and events. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Checks an affinity key from outside (a locate option, a message, a proxy's report): a string of 1 to
 * MAX_AFFINITY_KEY characters without control characters. undefined and '' mean "no key". Throws `code`
 * (EINVALIDOPTION for options, EINVALIDMSG for messages and reports) with a sentence saying what is wrong.
 */
export function checkAffinityKey(value: unknown, code: 'EINVALIDOPTION' | 'EINVALIDMSG'): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string')
    throw new SipLocateError(
      code,
      `An affinity key must be a string (got ${Array.isArray(value) ? 'an array' : typeof value}).`,
      { option: 'key' },
    );
  if (value.length > MAX_AFFINITY_KEY)
    throw new SipLocateError(
      code,
      `An affinity key may have at most ${MAX_AFFINITY_KEY} characters (got ${value.length}).`,
      { option: 'key' },
    );
  if (CONTROL.test(value))
    throw new SipLocateError(code, 'An affinity key must not contain control characters (line breaks, tabs, NUL).', {
      option: 'key',
    });
  return value;
}

/** Between a destination and an affinity key in the pin of (destination, key); destinations never contain it. */
export const KEY_SEPARATOR = '#';

/** The name a sticky pin of (destination, key) is kept under: `sip:pbx.example.com#alice`, the destination without a key. */
export function pinScope(destination: string, key: string | undefined): string {
  return key === undefined ? destination : `${destination}${KEY_SEPARATOR}${key}`;
}
