import { SipLocateError } from '../errors';

/** A telephone number ready for ENUM: the E.164 string and the URI parameters it came with. */
export interface TelNumber {
  /** "+" and 1 to 15 digits, visual separators removed (the ENUM application unique string, RFC 6116 section 3.2). */
  number: string;
  /** Parameters after the number (RFC 3966: ext, isub, phone-context, others), lower-case names, in order. */
  params: Array<{ name: string; value: string }>;
}

/** Longest tel: URI or telephone-subscriber accepted. */
const MAX_TEL_LENGTH = 256;
/** E.164 allows at most 15 digits (ITU-T E.164 section 6). */
const MAX_E164_DIGITS = 15;
const VISUAL_SEPARATORS = /[-.()]/g;

function invalid(text: string, why: string): SipLocateError {
  const shown = text.length > 80 ? text.slice(0, 77) + '...' : text;
  return new SipLocateError('EINVALIDURI', `"${shown}" is not a usable telephone number: ${why}.`, { uri: shown });
}

/** Digits of a global-number-digits string ("+1-202-555-0101"), or undefined when it has other characters. */
function globalDigits(text: string): string | undefined {
  if (!text.startsWith('+')) return undefined;
  const digits = text.slice(1).replace(VISUAL_SEPARATORS, '');
  return /^[0-9]+$/.test(digits) ? digits : undefined;
}

/**
 * Parses an RFC 3966 telephone-subscriber ("+1-202-555-0101;ext=12" or "5550101;phone-context=+1-202")
 * into an E.164 number; `whole` is the text shown in errors. Throws EINVALIDURI.
 */
export function parseTelephoneSubscriber(subscriber: string, whole: string = subscriber): TelNumber {
  const [head = '', ...rest] = subscriber.split(';');
  const params: TelNumber['params'] = [];
  for (const p of rest) {
    if (p.length === 0) continue;
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (!/^[a-z0-9-]+$/.test(name)) throw invalid(whole, `the parameter "${p.slice(0, 20)}" is malformed`);
    params.push({ name, value: eq < 0 ? '' : p.slice(eq + 1).trim() });
  }
  let digits: string | undefined;
  if (head.startsWith('+')) {
    digits = globalDigits(head);
    if (digits === undefined)
      throw invalid(whole, 'a global number has only digits and the separators - . ( ) after the "+"');
  } else {
    const context = params.find((p) => p.name === 'phone-context');
    if (context === undefined)
      throw invalid(
        whole,
        'a number without "+" needs a phone-context (RFC 3966 section 5.1.5); write it in international form, like tel:+12025550101',
      );
    const prefix = globalDigits(context.value);
    if (prefix === undefined)
      throw invalid(
        whole,
        `ENUM needs a global number, and the phone-context "${context.value.slice(0, 40)}" is a domain, not a "+" prefix`,
      );
    const local = head.replace(VISUAL_SEPARATORS, '');
    if (!/^[0-9]+$/.test(local)) throw invalid(whole, 'a local number has only digits and the separators - . ( )');
    digits = prefix + local;
  }
  if (digits.length === 0) throw invalid(whole, 'it has no digits');
  if (digits.length > MAX_E164_DIGITS) throw invalid(whole, `an E.164 number has at most ${MAX_E164_DIGITS} digits`);
  return { number: `+${digits}`, params };
}

/** True when the text (bare or in angle brackets) starts with the tel: scheme. */
export function isTelUri(input: unknown): boolean {
  return typeof input === 'string' && /^\s*(?:[^<]*<)?\s*tel:/i.test(input);
}

/** Parses a tel: URI (bare or in angle brackets) into an E.164 number; throws EINVALIDURI with a sentence. */
export function parseTelUri(input: unknown): TelNumber {
  if (typeof input !== 'string')
    throw new SipLocateError(
      'EINVALIDURI',
      `Expected a tel: URI as text, got ${input === null ? 'null' : typeof input}.`,
      {},
    );
  let text = input.trim();
  if (text.length > MAX_TEL_LENGTH) throw invalid(text, `it is longer than ${MAX_TEL_LENGTH} characters`);
  const lt = text.indexOf('<');
  if (lt >= 0) {
    const gt = text.indexOf('>', lt);
    if (gt < 0) throw invalid(text, 'the "<" has no matching ">"');
    text = text.slice(lt + 1, gt).trim();
  }
  const m = /^tel:/i.exec(text);
  if (!m) throw invalid(text, 'it must start with tel:');
  const subscriber = text.slice(m[0].length);
  if (/[\s<>"]/.test(subscriber)) throw invalid(text, 'it contains white space or quotes');
  return parseTelephoneSubscriber(subscriber, text);
}

/** The ENUM domain of an E.164 number under a suffix: digits reversed and dotted (RFC 6116 section 3.2). */
export function enumDomain(number: string, suffix: string): string {
  const digits = number.replace(/[^0-9]/g, '');
  const head = [...digits].reverse().join('.');
  return suffix.length > 0 ? `${head}.${suffix}` : head;
}
