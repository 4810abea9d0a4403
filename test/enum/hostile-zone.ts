// Hostile ENUM answers (issue 23): numbers whose NAPTR RRsets hold 64 regexps that are expensive to compile,
// and a number whose records hand out injected SIP URIs. Shared by the ENUM tests and the hostile bench.
import { zoneText } from '../system/harness';

/** The zone's origin; use it as the only ENUM suffix. */
export const HOSTILE_ENUM_ORIGIN = 'e164.hostile.test';
/** 64 records of `(.?){1000}` x 24 (the issue's fixture: 0.5 s to compile each). */
export const HUGE_NUMBER = '+12025550199';
/** 64 distinct records each just under the size bound (a few ms to compile each), then a usable one. */
export const COSTLY_NUMBER = '+12025550198';
/** Records whose results carry injected text, then one usable result. */
export const INJECTED_NUMBER = '+12025550197';
/** A number whose non-terminal rules chain 6 names deep under each of CHAIN_SUFFIXES (48 questions wanted). */
export const CHAIN_NUMBER = '+12025550196';
/** The 8 suffixes (the most a locator takes) of the chains. */
export const CHAIN_SUFFIXES: readonly string[] = Array.from({ length: 8 }, (_, k) => `s${k}.${HOSTILE_ENUM_ORIGIN}`);
/** A number whose records carry terminal escapes: OSC 52 (clipboard write), OSC 0 (title), CSI 2J (clear) and C1 CSI. */
export const ESCAPE_NUMBER = '+12025550195';
/** The escape sequences ESCAPE_NUMBER's records carry, as text. */
export const TERMINAL_ESCAPES: readonly string[] = [
  '\x1b]52;c;ZWNobyBwd25lZA==\x07',
  '\x1b]0;owned\x07',
  '\x1b[2J',
  '\u009b31m',
];
/** How many expensive records each hostile RRset holds. */
export const HOSTILE_RECORDS = 64;

/** The injected results the audit found handed out as msg.sip.uri, as zone-file character-strings would carry them. */
export const INJECTED_URIS: readonly string[] = [
  'sip:x\r\nRoute: sip:evil;lr\r\nX:@pbx.enum.test',
  'sip:bob@pbx.enum.test;x=\r\nContact: <sip:evil@192.0.2.66>',
  'sip:bob@pbx.enum.test?Route=%3Csip:192.0.2.66;lr%3E',
  'sip:\u0000\u0007 evil @pbx.enum.test',
  'sip:bob@pbx.enum.test>;x="y"',
  'sip:bo%zzb@pbx.enum.test',
  'sip:bob@pbx.enum.test;x=<a>',
  'tel:+12025550197',
];

/** Reversed, dotted digits of a number (the ENUM owner name relative to the suffix). */
function owner(number: string): string {
  return [...number.slice(1)].reverse().join('.');
}

/** A character-string for a zone file: quotes, backslashes and bytes outside printable ASCII escaped as \DDD. */
function quoted(text: string): string {
  let out = '"';
  for (const ch of Buffer.from(text, 'utf8')) {
    if (ch === 0x22 || ch === 0x5c) out += '\\' + String.fromCharCode(ch);
    else if (ch < 0x20 || ch > 0x7e) out += '\\' + String(ch).padStart(3, '0');
    else out += String.fromCharCode(ch);
  }
  return out + '"';
}

/** The zone text. */
export function hostileEnumZoneText(): string {
  const lines: string[] = [];
  const huge = '!' + '(.?){1000}'.repeat(24) + '!sip:x@p!';
  for (let i = 0; i < HOSTILE_RECORDS; i++)
    lines.push(`${owner(HUGE_NUMBER)} IN NAPTR 10 ${i} "u" "E2U+sip" ${quoted(huge)} .`);
  for (let i = 0; i < HOSTILE_RECORDS; i++) {
    // Distinct texts, so no record is served from the compiled-pattern cache: each costs a full compile.
    // It never matches a number (a "z" at the end), so every record is evaluated in turn.
    const costly = `!^${'(.?){10}'.repeat(5)}(.?){${(i % 9) + 1}}${'x'.repeat(Math.floor(i / 9))}z$!sip:c${i}@pbx.enum.test!`;
    lines.push(`${owner(COSTLY_NUMBER)} IN NAPTR 10 ${i} "u" "E2U+sip" ${quoted(costly)} .`);
  }
  lines.push(`${owner(COSTLY_NUMBER)} IN NAPTR 20 10 "u" "E2U+sip" "!^.*$!sip:late@pbx.enum.test!" .`);
  INJECTED_URIS.forEach((uri, i) => {
    lines.push(`${owner(INJECTED_NUMBER)} IN NAPTR 10 ${i} "u" "E2U+sip" ${quoted(`!^.*$!${uri}!`)} .`);
  });
  lines.push(
    `${owner(INJECTED_NUMBER)} IN NAPTR 20 10 "u" "E2U+sip" "!^\\\\+(.*)$!sip:\\\\1@pbx.enum.test;user=phone!" .`,
  );
  TERMINAL_ESCAPES.forEach((esc, i) => {
    lines.push(`${owner(ESCAPE_NUMBER)} IN NAPTR 10 ${i} "u" "E2U+sip" ${quoted(`!^.*$!sip:${esc}@pbx.enum.test!`)} .`);
  });
  lines.push(`${owner(ESCAPE_NUMBER)} IN NAPTR 20 10 "u" "E2U+sip" ${quoted('!^.*$!sip:ok@127.0.0.1!')} .`);
  for (let k = 0; k < CHAIN_SUFFIXES.length; k++) {
    const names = [`${owner(CHAIN_NUMBER)}.s${k}`, ...Array.from({ length: 6 }, (_, j) => `c${j + 1}.s${k}`)];
    for (let j = 0; j + 1 < names.length; j++)
      lines.push(`${names[j]} IN NAPTR 10 10 "" "E2U" "" ${names[j + 1]}.${HOSTILE_ENUM_ORIGIN}.`);
  }
  return zoneText(HOSTILE_ENUM_ORIGIN, lines);
}
