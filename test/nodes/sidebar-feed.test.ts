// The sidebar's runtime side: the bounded recent-destinations list at its size, and the comms feed's throttle,
// watch lease and close (with Node's mock timers, so no test waits on the wall clock).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECENT_DESTINATIONS, RecentDestinations } from '../../src/nodes/recent-destinations';
import {
  createStateFeed,
  pageOf,
  PUBLISH_INTERVAL_MS,
  readPage,
  SIDEBAR_PAGE,
  SIDEBAR_TOPIC,
  snapshots,
  watch,
  WATCH_LEASE_MS,
} from '../../src/nodes/sidebar-feed';

const t = (port: number) => ({ transport: 'udp' as const, address: '192.0.2.1', port, host: 'a.example.com' });

test('recent destinations: newest first, a repeat moves to the front, the oldest goes past the bound of 50', () => {
  const r = new RecentDestinations();
  for (let i = 0; i < RECENT_DESTINATIONS + 10; i++) assert.equal(r.record(`d${i}`, [t(5060)], i), true);
  assert.equal(r.size, RECENT_DESTINATIONS);
  assert.equal(r.list()[0]!.destination, `d${RECENT_DESTINATIONS + 9}`);
  assert.equal(r.list().at(-1)!.destination, 'd10', 'd0..d9 were dropped');
  assert.equal(r.record('d10', [t(5060)], 100), false, 'same order: nothing the sidebar shows changed');
  assert.equal(r.list()[0]!.destination, 'd10');
  assert.equal(r.record('d10', [t(5061), t(5060)], 101), true, 'a new order is a change');
  assert.deepEqual(r.list()[0]!.targets, [t(5061), t(5060)]);
  const many = Array.from({ length: 100 }, (_, i) => t(6000 + i));
  r.record('big', many, 102);
  assert.equal(r.list()[0]!.targets.length, 32, 'targets per destination are bounded too');
  r.clear();
  assert.equal(r.size, 0);
});

test('the feed announces the first change at once, then at most once per interval, only while watched, nothing after close; never the state', (ctx) => {
  ctx.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const sent: Array<{ topic: string; data: unknown }> = [];
  const comms = { publish: (topic: string, data: unknown) => sent.push({ topic, data }) };
  let version = 0;
  const feed = createStateFeed({ comms }, 'r1', () => ({ id: 'r1', version }));
  feed.changed();
  assert.equal(sent.length, 0, 'no editor watches: nothing is published');
  watch();
  version = 1;
  feed.changed();
  assert.deepEqual(
    sent,
    [{ topic: `${SIDEBAR_TOPIC}r1`, data: { id: 'r1', changed: true } }],
    'a notice: which resolver, not what it holds',
  );
  for (version = 2; version < 12; version++) feed.changed();
  assert.equal(sent.length, 1, 'ten changes inside the interval wait');
  ctx.mock.timers.tick(PUBLISH_INTERVAL_MS);
  assert.equal(sent.length, 2, 'then one notice for the ten');
  assert.deepEqual(sent[1]!.data, { id: 'r1', changed: true });
  assert.deepEqual(
    snapshots().map((s) => [s.id, s.version]),
    [['r1', 12]],
    'the state is fetched through the endpoint',
  );
  feed.changed();
  feed.close(true);
  ctx.mock.timers.tick(PUBLISH_INTERVAL_MS * 4);
  assert.deepEqual(
    sent.slice(2),
    [{ topic: `${SIDEBAR_TOPIC}r1`, data: { id: 'r1', removed: true } }],
    'the pending publish is cancelled; the editor hears the removal',
  );
  assert.deepEqual(snapshots(), []);
  const quiet = createStateFeed({ comms }, 'r2', () => ({ id: 'r2' }));
  ctx.mock.timers.tick(WATCH_LEASE_MS);
  quiet.changed();
  assert.equal(sent.length, 3, 'the watch lease ran out: nothing more is published');
  quiet.close(true);
  assert.equal(sent.length, 3);
});

test('every string the sidebar shows is in the en-US and the German catalog', () => {
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const join = (...parts: string[]): string => path.join(...parts);
  const nodes = join(__dirname, '..', '..', 'nodes');
  const html = readFileSync(join(nodes, 'sip-sidebar.html'), 'utf8');
  const flat = (o: Record<string, unknown>, prefix = ''): string[] =>
    Object.entries(o).flatMap(([k, v]) =>
      typeof v === 'object' && v !== null ? flat(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`],
    );
  const en = flat(
    (
      JSON.parse(readFileSync(join(nodes, 'locales', 'en-US', 'sip-sidebar.json'), 'utf8')) as {
        'sip-sidebar': Record<string, unknown>;
      }
    )['sip-sidebar'],
  ).sort();
  const de = flat(
    (
      JSON.parse(readFileSync(join(nodes, 'locales', 'de', 'sip-sidebar.json'), 'utf8')) as {
        'sip-sidebar': Record<string, unknown>;
      }
    )['sip-sidebar'],
  ).sort();
  assert.deepEqual(de, en, 'the German catalog has the same keys');
  const used = [...html.matchAll(/\bt\('([a-zA-Z.]+)'/g)].map((m) => m[1]!).filter((k) => !k.endsWith('.'));
  const prefixed = [...html.matchAll(/\bt\('([a-zA-Z]+\.)' \+/g)].map((m) => m[1]!);
  assert.ok(used.length >= 10, `found ${used.length} keys`);
  for (const key of used) assert.ok(en.includes(key), `en-US lacks ${key}`);
  for (const prefix of prefixed)
    assert.ok(
      en.some((k) => k.startsWith(prefix)),
      `en-US lacks ${prefix}*`,
    );
});

test('a snapshot page holds at most SIDEBAR_PAGE entries per list, newest first, with the totals; 20,000 pins stay small', () => {
  const pins = Array.from({ length: 20_000 }, (_, i) => ({
    destination: `sip:d${i}.example.com`,
    target: { ...t(5060), address: `192.0.2.${i % 250}` },
    pinnedAt: 1_000 + i,
    expiresAt: 9_000_000 + i,
  }));
  const marks = Array.from({ length: 300 }, (_, i) => ({ ...t(6000 + i), mark: 'grey', expiresAt: 5_000 + i }));
  const snap = { id: 'r1', name: 'big', pins, marks, admin: [], health: [], nameservers: [{ address: '127.0.0.1' }] };
  const first = pageOf(snap);
  assert.equal((first.pins as unknown[]).length, SIDEBAR_PAGE);
  assert.equal((first.pins as Array<{ pinnedAt: number }>)[0]!.pinnedAt, 1_000 + 19_999, 'newest pin first');
  assert.equal((first.marks as unknown[]).length, SIDEBAR_PAGE);
  assert.deepEqual(first.totals, { pins: 20_000, marks: 300, admin: 0, health: 0 });
  assert.deepEqual(first.nameservers, snap.nameservers, 'fields that are not lists of targets pass as they are');
  const bytes = Buffer.byteLength(JSON.stringify(first));
  assert.ok(bytes < 100_000, `${bytes} bytes for a page of 20,000 pins (5.8 MB unbounded)`);
  const last = pageOf(snap, { offset: 19_900, limit: SIDEBAR_PAGE });
  assert.equal((last.pins as unknown[]).length, 100);
  assert.equal(
    (last.pins as Array<{ pinnedAt: number }>).at(-1)!.pinnedAt,
    1_000,
    'the oldest pin is on the last page',
  );
  assert.equal((last.marks as unknown[]).length, 0);
  assert.deepEqual(readPage({}), { offset: 0, limit: SIDEBAR_PAGE });
  assert.deepEqual(readPage({ offset: '400', limit: '50' }), { offset: 400, limit: 50 });
  for (const q of [
    { limit: '0' },
    { limit: String(SIDEBAR_PAGE + 1) },
    { offset: '-1' },
    { offset: '1e3' },
    { offset: ['1', '2'] },
    { limit: '10.5' },
  ])
    assert.equal(readPage(q), undefined, JSON.stringify(q));
});
