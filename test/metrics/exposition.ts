/** A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: throws on anything malformed. */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family: its HELP, TYPE and samples. */
export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

function parseValue(s: string, line: number): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`line ${line}: "${s}" is not a sample value`);
  return Number(s);
}

/** Reads `{a="x",b="y"}` from position i (at the brace); returns the labels and the position after the closing brace. */
function parseLabels(text: string, i: number, line: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // {
  for (;;) {
    if (text[i] === '}') return { labels, end: i + 1 };
    let j = i;
    while (j < text.length && text[j] !== '=') j++;
    const name = text.slice(i, j);
    if (!LABEL.test(name)) throw new Error(`line ${line}: bad label name "${name}"`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    if (text[j + 1] !== '"') throw new Error(`line ${line}: label value of ${name} is not quoted`);
    let value = '';
    let k = j + 2;
    for (; ; k++) {
      const c = text[k];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const n = text[++k];
        if (n === 'n') value += '\n';
        else if (n === '\\' || n === '"') value += n;
        else throw new Error(`line ${line}: bad escape \\${n ?? ''}`);
      } else if (c === '\n') throw new Error(`line ${line}: raw line feed in a label value`);
      else value += c;
    }
    labels[name] = value;
    i = k + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`line ${line}: expected , or } after label ${name}`);
  }
}

/** The family a sample name belongs to, given the declared types. */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  const exact = families.get(name);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const f = families.get(name.slice(0, -suffix.length));
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return f;
  }
  return undefined;
}

/** Parses exposition text; every sample must belong to a family declared by HELP and TYPE before it. */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the text must end with a line feed');
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw === '') return;
    if (raw.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(raw);
      if (!m) {
        if (/^# (HELP|TYPE) /.test(raw)) throw new Error(`line ${line}: malformed ${raw.slice(2, 6)}`);
        return; // a comment
      }
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`line ${line}: bad metric name ${name}`);
      const f = families.get(name) ?? { name, help: '', type: 'untyped' as const, samples: [] };
      if (f.samples.length > 0) throw new Error(`line ${line}: ${kind} of ${name} after its samples`);
      if (kind === 'HELP') f.help = rest;
      else {
        if (!TYPES.includes(rest)) throw new Error(`line ${line}: unknown type ${rest}`);
        f.type = rest as Family['type'];
      }
      families.set(name, f);
      return;
    }
    let i = 0;
    while (i < raw.length && raw[i] !== '{' && raw[i] !== ' ') i++;
    const name = raw.slice(0, i);
    if (!NAME.test(name)) throw new Error(`line ${line}: bad sample name "${name}"`);
    let labels: Record<string, string> = {};
    if (raw[i] === '{') ({ labels, end: i } = parseLabels(raw, i, line));
    if (raw[i] !== ' ') throw new Error(`line ${line}: no space before the value`);
    const parts = raw.slice(i + 1).split(' ');
    if (parts.length < 1 || parts.length > 2)
      throw new Error(`line ${line}: expected a value and an optional timestamp`);
    const value = parseValue(parts[0]!, line);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`line ${line}: bad timestamp`);
    const family = familyOf(name, families);
    if (!family) throw new Error(`line ${line}: sample ${name} has no HELP/TYPE declared before it`);
    if (family.type === 'counter' && value < 0) throw new Error(`line ${line}: negative counter`);
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(series)) throw new Error(`line ${line}: series ${series} twice`);
    seenSeries.add(series);
    family.samples.push({ name, labels, value });
  });
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    // buckets are cumulative and end with +Inf equal to _count, per label set
    const groups = new Map<string, Sample[]>();
    for (const s of f.samples.filter((x) => x.name === `${f.name}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${f.name}: a bucket without le`);
      const key = JSON.stringify(Object.entries(rest).sort());
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, buckets] of groups) {
      let last = -Infinity;
      let prev = 0;
      for (const b of buckets) {
        const le = parseValue(b.labels.le!, 0);
        if (le <= last || b.value < prev) throw new Error(`${f.name}: buckets not increasing`);
        last = le;
        prev = b.value;
      }
      const count = f.samples.find(
        (s) => s.name === `${f.name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key,
      );
      if (last !== Infinity || !count || count.value !== prev)
        throw new Error(`${f.name}: the +Inf bucket must equal _count`);
    }
  }
  return families;
}
