import { RE2JS } from 're2js';

/** Longest regexp field evaluated (a DNS character-string holds 255 octets). */
export const MAX_REGEXP_LENGTH = 255;
/** Longest input string the regexp is applied to. */
export const MAX_INPUT_LENGTH = 64;
/** Longest result kept (the longest URI the locator accepts). */
export const MAX_RESULT_LENGTH = 2048;
/**
 * Largest count a counted repetition ({n}, {n,m}) may carry: an E.164 number has at most 15 digits, so no ENUM rule
 * needs more, and `(.?){1000}` compiles to thousands of instructions (a 245-character pattern took 0.5 s).
 */
export const MAX_REPEAT_COUNT = 15;
/**
 * Most instructions a pattern may expand to, estimated from its text before it is compiled (repetitions multiplied
 * out, nested ones too); a 255-character pattern without counted repetition stays far below it.
 */
export const MAX_PATTERN_SIZE = 256;
/** Most instructions a compiled program may hold (the engine's own count, checked after compiling). */
export const MAX_PROGRAM_SIZE = 1024;
/** Compiled patterns (and refusals) kept, keyed by pattern text and flags: hostile answers repeat, honest ones are few. */
export const MAX_COMPILED_PATTERNS = 256;

/** The outcome of a substitution: the rewritten string, no match, or why the regexp is unusable. */
export type RegexpOutcome = { ok: true; result: string } | { ok: false; why: string };

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

/** Index just past the bracket expression starting at `start` ("[", "[^", "[]..." and "[:alpha:]" inside). */
function classEnd(ere: string, start: number): number {
  let i = start + 1;
  if (ere[i] === '^') i++;
  if (ere[i] === ']') i++;
  for (; i < ere.length; i++) {
    if (ere[i] === '\\') i++;
    else if (ere[i] === '[' && ere[i + 1] === ':') {
      const close = ere.indexOf(':]', i + 2);
      if (close >= 0) i = close + 1;
    } else if (ere[i] === ']') return i + 1;
  }
  return ere.length;
}

/**
 * Why a pattern would compile to a large program, estimated from its text: a counted repetition above
 * MAX_REPEAT_COUNT, or more than MAX_PATTERN_SIZE instructions once repetitions are multiplied out; else undefined.
 */
export function patternTooLarge(ere: string): string | undefined {
  // One frame per open group: the size so far and the size of its last atom (what a repetition applies to).
  const frames: Array<{ size: number; last: number }> = [{ size: 0, last: 0 }];
  const top = (): { size: number; last: number } => frames[frames.length - 1]!;
  const atom = (size: number): void => {
    top().size += size;
    top().last = size;
  };
  for (let i = 0; i < ere.length; i++) {
    const c = ere[i]!;
    if (c === '\\') {
      i++;
      atom(1);
    } else if (c === '[') {
      i = classEnd(ere, i) - 1;
      atom(1);
    } else if (c === '(') {
      frames.push({ size: 0, last: 0 });
    } else if (c === ')') {
      if (frames.length > 1) {
        const inner = frames.pop()!;
        atom(inner.size + 2);
      } else atom(1);
    } else if (c === '|') {
      top().size += 1;
      top().last = 0;
    } else if (c === '*' || c === '+' || c === '?') {
      top().size += 1;
    } else if (c === '{') {
      const m = /^\{(\d{1,6})(,(\d{0,6}))?\}/.exec(ere.slice(i, i + 16));
      if (!m) {
        atom(1);
        continue;
      }
      const low = Number(m[1]);
      const high = m[2] === undefined ? low : m[3] === '' ? low + 1 : Number(m[3]);
      if (low > MAX_REPEAT_COUNT || high > MAX_REPEAT_COUNT)
        return `the counted repetition ${m[0]} is above ${MAX_REPEAT_COUNT} (an E.164 number has at most 15 digits)`;
      const f = top();
      f.size += f.last * (Math.max(high, 1) - 1) + 1;
      f.last *= Math.max(high, 1);
      i += m[0].length - 1;
    } else {
      atom(1);
    }
    if (top().size > MAX_PATTERN_SIZE) return `the pattern expands to more than ${MAX_PATTERN_SIZE} instructions`;
  }
  let total = 0;
  for (const f of frames) total += f.size;
  return total > MAX_PATTERN_SIZE ? `the pattern expands to more than ${MAX_PATTERN_SIZE} instructions` : undefined;
}

/** Compiled patterns and refusals by flags and text, least recently used dropped first (MAX_COMPILED_PATTERNS). */
const compiled = new Map<string, RE2JS | string>();

// The engine's first compilations run cold (tens of ms on a loaded machine, whatever the pattern): pay that once
// when the module loads, not inside the first look-up a number's answers trigger.
for (let i = 0; i < 3; i++)
  RE2JS.compile(`^\\+(\\d{1,3})(.?){${4 + i}}[a-z]*|x$`, RE2JS.LONGEST_MATCH | RE2JS.CASE_INSENSITIVE)
    .matcher('+12025550101')
    .find();

/** The compiled pattern for `ere`, from the cache when known; a string says why it is refused. */
function compile(ere: string, caseInsensitive: boolean): RE2JS | string {
  const key = (caseInsensitive ? 'i' : '-') + ere;
  const known = compiled.get(key);
  if (known !== undefined) {
    compiled.delete(key);
    compiled.set(key, known);
    return known;
  }
  let out: RE2JS | string | undefined = patternTooLarge(ere);
  if (out === undefined) {
    try {
      const pattern = RE2JS.compile(ere, RE2JS.LONGEST_MATCH | (caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0));
      const size = pattern.programSize();
      out =
        size > MAX_PROGRAM_SIZE
          ? `the pattern compiles to ${size} instructions, more than ${MAX_PROGRAM_SIZE}`
          : pattern;
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      out = `the pattern does not compile (${text.slice(0, 120)})`;
    }
  }
  compiled.set(key, out);
  if (compiled.size > MAX_COMPILED_PATTERNS) compiled.delete(compiled.keys().next().value as string);
  return out;
}

/** How many compiled patterns and refusals are cached (for tests of the bound). */
export function compiledPatterns(): number {
  return compiled.size;
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
        if (n > groups)
          return {
            ok: false,
            why: `the replacement uses \\${n} but the pattern has ${groups} group${groups === 1 ? '' : 's'}`,
          };
        out += group(n) ?? '';
      } else if (next === delim || next === '\\') {
        out += next;
      } else {
        return { ok: false, why: `"\\${next}" is not a backreference \\1-\\9 or an escaped delimiter` };
      }
    }
    if (out.length > MAX_RESULT_LENGTH)
      return { ok: false, why: `the result is longer than ${MAX_RESULT_LENGTH} characters` };
  }
  return { ok: true, result: out };
}

/**
 * Applies an RFC 3402 substitution expression ("!^.*$!sip:info@example.com!") to `input` with a linear-time
 * engine (RE2, leftmost-longest as POSIX EREs are); the result is the replacement with its backreferences filled in.
 * Patterns whose program would be large are refused before compiling; compiled ones are cached. Never throws.
 */
export function applyRegexp(field: unknown, input: unknown): RegexpOutcome {
  if (typeof field !== 'string' || typeof input !== 'string')
    return { ok: false, why: 'the regexp and its input must be text' };
  if (field.length > MAX_REGEXP_LENGTH)
    return { ok: false, why: `the regexp is longer than ${MAX_REGEXP_LENGTH} characters` };
  if (input.length > MAX_INPUT_LENGTH)
    return { ok: false, why: `the input is longer than ${MAX_INPUT_LENGTH} characters` };
  const parts = split(field);
  if (typeof parts === 'string') return { ok: false, why: parts };
  const pattern = compile(parts.ere, parts.caseInsensitive);
  if (typeof pattern === 'string') return { ok: false, why: pattern };
  try {
    const m = pattern.matcher(input);
    if (!m.find()) return { ok: false, why: `the pattern does not match ${input}` };
    const groups = m.groupCount();
    return expand(parts.repl, parts.delim, (n) => m.group(n) ?? undefined, groups);
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return { ok: false, why: `the regexp failed (${text.slice(0, 120)})` };
  }
}
