import { RE2JS } from 're2js';

/** Longest regexp field evaluated (a DNS character-string holds 255 octets). */
export const MAX_REGEXP_LENGTH = 255;
/** Longest input string the regexp is applied to. */
export const MAX_INPUT_LENGTH = 64;
/** Longest result kept (the longest URI the locator accepts). */
export const MAX_RESULT_LENGTH = 2048;

/** The outcome of a substitution: the rewritten string, no match, or why the regexp is unusable. */
export type RegexpOutcome =
  | { ok: true; result: string }
  | { ok: false; why: string };

/** The three parts of an RFC 3402 substitution expression. */
interface SubstExpr {
  ere: string;
  repl: string;
  caseInsensitive: boolean;
  delim: string;
}

/** Splits "<delim>ere<delim>repl<delim>flags" (RFC 3402 section 3.2); a string explains why it cannot. */
function split(field: string): SubstExpr | string {
  const delim = field[0];
  if (delim === undefined) return 'the regexp is empty';
  if (/[1-9i\\]/.test(delim)) return `"${delim}" cannot delimit a regexp (digits 1-9, "i" and "\\" are not allowed)`;
  const parts: string[] = [];
  let start = 1;
  for (let i = 1; i < field.length; i++) {
    const c = field[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === delim) {
      parts.push(field.slice(start, i));
      start = i + 1;
      if (parts.length === 2) break;
    }
  }
  if (parts.length < 2) return `the regexp needs three "${delim}" delimiters`;
  const flags = field.slice(start);
  if (flags !== '' && flags !== 'i') return `the regexp flags "${flags.slice(0, 10)}" are not "i" or empty`;
  return { ere: parts[0]!, repl: parts[1]!, caseInsensitive: flags === 'i', delim };
}

/** Builds the result from the replacement: backreferences \1-\9, escaped delimiter, escaped backslash. */
function expand(repl: string, delim: string, group: (n: number) => string | undefined, groups: number): RegexpOutcome {
  let out = '';
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i]!;
    if (c !== '\\') {
      out += c;
    } else {
      const next = repl[i + 1];
      i++;
      if (next === undefined) return { ok: false, why: 'the replacement ends with a lone "\\"' };
      if (/[1-9]/.test(next)) {
        const n = Number(next);
        if (n > groups) return { ok: false, why: `the replacement uses \\${n} but the pattern has ${groups} group${groups === 1 ? '' : 's'}` };
        out += group(n) ?? '';
      } else if (next === delim || next === '\\') {
        out += next;
      } else {
        return { ok: false, why: `"\\${next}" is not a backreference \\1-\\9 or an escaped delimiter` };
      }
    }
    if (out.length > MAX_RESULT_LENGTH) return { ok: false, why: `the result is longer than ${MAX_RESULT_LENGTH} characters` };
  }
  return { ok: true, result: out };
}

/**
 * Applies an RFC 3402 substitution expression ("!^.*$!sip:info@example.com!") to `input` with a linear-time
 * engine (RE2, leftmost-longest as POSIX EREs are); the result is the replacement with its backreferences filled in. Never throws.
 */
export function applyRegexp(field: unknown, input: unknown): RegexpOutcome {
  if (typeof field !== 'string' || typeof input !== 'string') return { ok: false, why: 'the regexp and its input must be text' };
  if (field.length > MAX_REGEXP_LENGTH) return { ok: false, why: `the regexp is longer than ${MAX_REGEXP_LENGTH} characters` };
  if (input.length > MAX_INPUT_LENGTH) return { ok: false, why: `the input is longer than ${MAX_INPUT_LENGTH} characters` };
  const parts = split(field);
  if (typeof parts === 'string') return { ok: false, why: parts };
  let pattern: RE2JS;
  try {
    pattern = RE2JS.compile(parts.ere, RE2JS.LONGEST_MATCH | (parts.caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0));
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return { ok: false, why: `the pattern does not compile (${text.slice(0, 120)})` };
  }
  try {
    const m = pattern.matcher(input);
    if (!m.find()) return { ok: false, why: `the pattern does not match ${input}` };
    const groups = m.groupCount();
    const expanded = expand(parts.repl, parts.delim, (n) => m.group(n) ?? undefined, groups);
    if (!expanded.ok) return expanded;
    return expanded;
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return { ok: false, why: `the regexp failed (${text.slice(0, 120)})` };
  }
}
