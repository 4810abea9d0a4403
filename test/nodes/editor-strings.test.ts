// Every string the editor shows comes from the catalogs: no hard-coded English in nodes/*.html (template text,
// placeholders and titles, HTML and .text() strings in the scripts), each file reads its catalog through one helper,
// and every key a file names exists in en-US and de.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const NODES = join(__dirname, '..', '..', 'nodes');
const files = readdirSync(NODES).filter((f) => f.endsWith('.html'));
/** Words that are names, not English: record types, protocols, units the catalogs spell the same in every language. */
const NAMES = new Set(['NAPTR', 'SRV', 'ENUM', 'AAAA', 'SIP', 'TLS', 'URI']);

/** The parts of one file: its HTML templates (without styles) and its scripts (without comments). */
function parts(html: string): { templates: string[]; scripts: string[] } {
  const templates = [...html.matchAll(/<script type="text\/html"[^>]*>([\s\S]*?)<\/script>/g)].map((m) =>
    m[1]!.replace(/<style>[\s\S]*?<\/style>/g, ''),
  );
  const scripts = [...html.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)].map((m) =>
    m[1]!.replace(/^\s*\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, ''),
  );
  return { templates, scripts };
}

/** The words of a text that are neither names nor values (numbers, units like ms). */
function words(text: string): string[] {
  return (text.replace(/&[a-z]+;/g, ' ').match(/[A-Za-zÄÖÜäöüß]{2,}/g) ?? []).filter((w) => !NAMES.has(w));
}

/** Hard-coded text in a template: text between tags, and placeholder/title/label attributes. */
function templateFindings(template: string): string[] {
  const found: string[] = [];
  for (const m of template.matchAll(/>([^<>]+)</g)) if (words(m[1]!).length) found.push(`text "${m[1]!.trim()}"`);
  for (const m of template.matchAll(/\s(placeholder|title|aria-label)="([^"]*)"/g))
    if (words(m[2]!).length) found.push(`${m[1]}="${m[2]}"`);
  return found;
}

/** Hard-coded text in a script: HTML text inside string literals, and literal words given to .text(), titles or notify. */
function scriptFindings(script: string): string[] {
  const found: string[] = [];
  for (const m of script.matchAll(/'((?:[^'\\\n]|\\.)*)'/g)) {
    const lit = m[1]!;
    for (const h of lit.matchAll(/>([^<>]+)</g)) if (words(h[1]!).length) found.push(`HTML text "${h[1]}" in '${lit}'`);
  }
  for (const m of script.matchAll(
    /\.(?:text|html)\('([^']*)'\)|\.attr\('(?:title|placeholder)', '([^']*)'\)|RED\.notify\('([^']*)'/g,
  )) {
    const lit = m[1] ?? m[2] ?? m[3] ?? '';
    if (words(lit.replace(/<[^>]*>/g, ' ')).length) found.push(`'${lit}'`);
  }
  return found;
}

test('no hard-coded English in nodes/*.html', () => {
  const findings: string[] = [];
  for (const f of files) {
    const { templates, scripts } = parts(readFileSync(join(NODES, f), 'utf8'));
    for (const t of templates) findings.push(...templateFindings(t).map((x) => `${f}: ${x}`));
    for (const s of scripts) findings.push(...scriptFindings(s).map((x) => `${f}: ${x}`));
  }
  assert.deepEqual(findings, []);
});

test('the scan finds what it is for (a template label, a placeholder, a table header, a notify)', () => {
  assert.deepEqual(
    templateFindings('<label>Name</label><input placeholder="type a URI"><span data-i18n="x.y"></span> &times; 5 ms'),
    ['text "Name"', 'placeholder="type a URI"'],
  );
  assert.equal(
    scriptFindings(
      `html += '<tr><th>transport</th><th>#</th></tr>'; x.text('Resolving...'); RED.notify('Saved', 'ok'); y.text(t('a.b'));`,
    ).length,
    3,
  );
  assert.deepEqual(scriptFindings(`'<b>ENUM</b> ' + '<span class="sip">' + t('try.ttl')`), []);
});

test('each node file reads its catalog through one helper, and every key it names is in en-US and de', () => {
  const catalog = (lang: string, name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(join(NODES, 'locales', lang, `${name}.json`), 'utf8')) as Record<string, unknown>;
  const has = (obj: unknown, path: string[]): boolean =>
    path.reduce<unknown>(
      (o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined),
      obj,
    ) !== undefined;
  let checked = 0;
  for (const f of files.filter((x) => x !== 'sip-sidebar.html')) {
    const type = f.replace(/\.html$/, '');
    const html = readFileSync(join(NODES, f), 'utf8');
    const { scripts } = parts(html);
    const js = scripts.join('\n');
    assert.equal((js.match(/function t\(key, subs\)/g) ?? []).length, 1, `${f}: one helper t()`);
    assert.doesNotMatch(js, /this\._\(|RED\._\(/, `${f}: no second way to the catalog`);
    const keys = [
      ...[...js.matchAll(/\bt\('([A-Za-z.]+)'/g)].map((m) => m[1]!).filter((k) => !k.endsWith('.')),
      ...[...html.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)].map((m) =>
        m[1]!.replace(new RegExp(`^${type}\\.`), ''),
      ),
    ];
    const prefixes = [...js.matchAll(/\bt\('([A-Za-z.]+\.)' \+/g)].map((m) => m[1]!);
    for (const lang of ['en-US', 'de']) {
      const c = catalog(lang, type)[type];
      for (const k of keys) assert.ok(has(c, k.split('.')), `${lang}/${type}.json lacks ${k}`);
      for (const p of prefixes) assert.ok(has(c, p.slice(0, -1).split('.')), `${lang}/${type}.json lacks ${p}*`);
      checked += keys.length;
    }
  }
  assert.ok(checked > 100, `${checked} keys checked`);
});

test('the Try it section comes first in the sip-resolver dialog, and its result strings have German entries', () => {
  const html = readFileSync(join(NODES, 'sip-resolver.html'), 'utf8');
  const template = parts(html).templates[0]!;
  const firstRow = template.indexOf('form-row');
  assert.ok(
    template.indexOf('sip-resolver.try.heading') < template.indexOf('node-config-input-name'),
    'Try it above the first setting',
  );
  assert.ok(
    template
      .slice(firstRow)
      .startsWith('form-row"><b><i class="fa fa-search"></i> <span data-i18n="sip-resolver.try.heading">'),
    'the first row is Try it',
  );
  const de = (
    JSON.parse(readFileSync(join(NODES, 'locales', 'de', 'sip-resolver.json'), 'utf8')) as {
      'sip-resolver': { try: Record<string, Record<string, string>> };
    }
  )['sip-resolver'].try;
  assert.deepEqual(de.column, { transport: 'Transport', address: 'Adresse', port: 'Port', host: 'Host' });
  assert.deepEqual(de.mark, { grey: 'grau', black: 'schwarz' });
  assert.equal(de.ns!.healthy, 'gesund');
});
