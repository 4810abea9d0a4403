// The documentation holds together: every relative link and #anchor in README.md, CHANGELOG.md and docs/*.md
// resolves (anchors by GitHub's heading slugs), links to this repository's raw files point at files that exist, no
// paragraph, list item, table row or run of 14 words appears twice, and the README stays a front page of at most 300
// lines.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = join(__dirname, '..', '..');
/** The README is a front page: the reference lives in docs/. */
const README_MAX_LINES = 300;
/** Shorter units (headings, table separators, "- none") may repeat. */
const MIN_UNIT_CHARS = 40;
/** Words in a row (backticks, bars and stars dropped) that count as copied text: longer than a shared phrase. */
const SHARED_RUN_WORDS = 14;
/** Addresses of this repository's own files that must exist here (README images must be absolute for npm). */
const OWN_FILE_URLS = [
  'https://raw.githubusercontent.com/node-red-contrib-sip-locate/node-red-contrib-sip-locate/main/',
  'https://github.com/node-red-contrib-sip-locate/node-red-contrib-sip-locate/blob/main/',
];

/** The Markdown files this test covers, relative to the repository root. */
function pages(): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`);
  return ['README.md', 'CHANGELOG.md', ...docs].filter((f) => existsSync(join(root, f)));
}

/** The text without fenced code blocks (their lines become empty, so line numbers stay). */
function withoutCode(text: string): string {
  let fenced = false;
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*(```|~~~)/.test(line)) {
        fenced = !fenced;
        return '';
      }
      return fenced ? '' : line;
    })
    .join('\n');
}

/** GitHub's anchor for a heading: rendered text, lower case, punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/[*~]/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors a page offers: one per heading, with -1, -2, ... for repeats, as GitHub numbers them. */
function anchors(file: string): Set<string> {
  return anchorsOf(readFileSync(join(root, file), 'utf8'));
}

/** The anchors of Markdown text (headings inside fenced code are not headings). */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of withoutCode(markdown).split('\n')) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every Markdown link and image target outside code, with its line number. */
function links(file: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  withoutCode(readFileSync(join(root, file), 'utf8'))
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.replace(/`[^`]*`/g, '');
      for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
        out.push({ target: m[1]!, line: i + 1 });
    });
  return out;
}

/** What is wrong with one link from `file`, or undefined when it resolves. */
function brokenLink(file: string, target: string): string | undefined {
  const own = OWN_FILE_URLS.find((prefix) => target.startsWith(prefix));
  if (own) {
    const path = target.slice(own.length).split('#')[0]!;
    return existsSync(join(root, path)) ? undefined : `${path} does not exist`;
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // another site: not checked offline
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  const dest = pathPart === '' ? join(root, file) : resolve(dirname(join(root, file)), decodeURIComponent(pathPart));
  if (!dest.startsWith(root)) return `${target} leaves the repository`;
  if (!existsSync(dest)) return `${relative(root, dest)} does not exist`;
  if (anchor === undefined) return undefined;
  if (!dest.endsWith('.md') || statSync(dest).isDirectory()) return `#${anchor} on a file that is not Markdown`;
  return anchors(relative(root, dest)).has(anchor) ? undefined : `${relative(root, dest)} has no heading #${anchor}`;
}

/** Paragraphs, list items and table rows of a page, whitespace folded, outside code. */
function units(file: string): string[] {
  const out: string[] = [];
  for (const block of withoutCode(readFileSync(join(root, file), 'utf8')).split(/\n\s*\n/)) {
    let current: string[] = [];
    const flush = (): void => {
      if (current.length) out.push(current.join(' ').replace(/\s+/g, ' ').trim());
      current = [];
    };
    for (const line of block.split('\n')) {
      if (/^\s*\|/.test(line)) {
        flush();
        out.push(line.replace(/\s+/g, ' ').trim());
      } else if (/^\s*([-*+]|\d+\.)\s/.test(line) || /^#{1,6}\s/.test(line)) {
        flush();
        current.push(line);
      } else current.push(line);
    }
    flush();
  }
  return out.filter((u) => u.length >= MIN_UNIT_CHARS);
}

describe('the documentation', () => {
  test('covers the README, the changelog and every page in docs/', () => {
    const files = pages();
    for (const f of ['README.md', 'CHANGELOG.md', 'docs/settings.md', 'docs/error-codes.md'])
      assert.ok(files.includes(f), f);
  });

  test("every relative link and #anchor resolves, and links to this repository's files name files that exist", () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of pages()) {
      for (const { target, line } of links(file)) {
        checked++;
        const why = brokenLink(file, target);
        if (why) broken.push(`${file}:${line}: ${target}: ${why}`);
      }
    }
    assert.deepEqual(broken, []);
    assert.ok(checked >= 40, `${checked} links checked`);
  });

  test('no paragraph, list item or table row appears twice, in one page or across pages', () => {
    const where = new Map<string, string[]>();
    for (const file of pages()) for (const u of units(file)) where.set(u, [...(where.get(u) ?? []), file]);
    const twice = [...where]
      .filter(([, files]) => files.length > 1)
      .map(([u, files]) => `${files.join(', ')}: ${u.slice(0, 160)}`);
    assert.deepEqual(twice, []);
  });

  test(`no run of ${SHARED_RUN_WORDS} words appears twice (a sentence copied, or a list repeated with another tail)`, () => {
    const where = new Map<string, string[]>();
    for (const file of pages()) {
      const words = withoutCode(readFileSync(join(root, file), 'utf8'))
        .replace(/[|`*]/g, ' ')
        .split(/\s+/)
        .filter(Boolean);
      for (let i = 0; i + SHARED_RUN_WORDS <= words.length; i++) {
        const run = words.slice(i, i + SHARED_RUN_WORDS).join(' ');
        where.set(run, [...(where.get(run) ?? []), `${file} word ${i}`]);
      }
    }
    const twice = [...where].filter(([, at]) => at.length > 1).map(([run, at]) => `${at.join(', ')}: ${run}`);
    assert.deepEqual(twice.slice(0, 10), []);
  });

  test(`the README is a front page of at most ${README_MAX_LINES} lines`, () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
    assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines`);
  });

  test('no page names a path outside the repository (../shared, /work/)', () => {
    for (const file of pages())
      assert.doesNotMatch(readFileSync(join(root, file), 'utf8'), /\.\.\/shared|\/work\//, file);
  });
});

describe('GitHub heading slugs', () => {
  test('follow GitHub: code and links keep their text, punctuation goes, each space becomes a hyphen', () => {
    assert.equal(slug('The `sip-locate` command'), 'the-sip-locate-command');
    assert.equal(slug('ENUM: phone numbers as `tel:` URIs'), 'enum-phone-numbers-as-tel-uris');
    assert.equal(slug('From your own Node.js application'), 'from-your-own-nodejs-application');
    assert.equal(slug('State stores: memory, context or Redis'), 'state-stores-memory-context-or-redis');
    assert.equal(slug('Drain, disable, enable'), 'drain-disable-enable');
    assert.equal(slug('sip_locate_locates_total & more'), 'sip_locate_locates_total--more');
  });

  test('number repeated headings -1, -2 as GitHub does, and skip # lines inside fenced code', () => {
    const md = ['# Figures', '', '## Figures', '', '```sh', '# not a heading', '```', '', '### Figures ###', ''].join(
      '\n',
    );
    assert.deepEqual([...anchorsOf(md)], ['figures', 'figures-1', 'figures-2']);
  });
});
