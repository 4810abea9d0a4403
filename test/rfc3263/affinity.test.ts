import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { orderByKey } from '../../src/core/rfc3263/affinity';

interface Server {
  id: string;
  weight: number;
}

const six: Server[] = [1, 2, 3, 4, 5, 6].map((i) => ({ id: `pbx${i}.example.com:5060`, weight: 10 }));
const keys = Array.from({ length: 10_000 }, (_, i) => `sip:user${i}@example.com`);
const first = (servers: readonly Server[], key: string): string =>
  orderByKey(
    servers,
    key,
    (s) => s.id,
    (s) => s.weight,
  )[0]!.id;

function shares(servers: readonly Server[]): Map<string, number> {
  const counts = new Map<string, number>(servers.map((s) => [s.id, 0]));
  for (const k of keys) {
    const id = first(servers, k);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

test('each server is first for a share of keys within 3 points of its SRV weight share (10,000 keys)', () => {
  const weighted: Server[] = [
    { id: 'a.example.com:5060', weight: 10 },
    { id: 'b.example.com:5060', weight: 20 },
    { id: 'c.example.com:5060', weight: 30 },
    { id: 'd.example.com:5060', weight: 40 },
  ];
  for (const [id, n] of shares(weighted)) {
    const expected = weighted.find((s) => s.id === id)!.weight / 100;
    assert.ok(Math.abs(n / keys.length - expected) <= 0.03, `${id}: ${n / keys.length} vs ${expected}`);
  }
  const equal = [...shares(six).values()];
  assert.ok(Math.max(...equal) / Math.min(...equal) <= 1.15, `max/min ${Math.max(...equal)}/${Math.min(...equal)}`);
});

test('when one of six servers goes, only its keys move, spread over the other five', () => {
  const before = new Map(keys.map((k) => [k, first(six, k)]));
  const gone = six[2]!.id;
  const rest = six.filter((s) => s.id !== gone);
  const movedTo = new Map<string, number>(rest.map((s) => [s.id, 0]));
  let moved = 0;
  for (const k of keys) {
    const now = first(rest, k);
    if (now === before.get(k)) continue;
    moved++;
    assert.equal(before.get(k), gone, `key ${k} moved although its server stayed`);
    movedTo.set(now, (movedTo.get(now) ?? 0) + 1);
  }
  assert.equal(moved, [...before.values()].filter((id) => id === gone).length);
  const spread = [...movedTo.values()];
  assert.ok(
    Math.min(...spread) > 0 && Math.max(...spread) / Math.min(...spread) <= 1.5,
    `moved keys per server: ${spread.join(', ')}`,
  );
});

test('a key gets the same order in another process, and the order does not depend on the input order', () => {
  const sample = keys.slice(0, 500);
  const here = sample.map((k) =>
    orderByKey(
      six,
      k,
      (s) => s.id,
      (s) => s.weight,
    )
      .map((s) => s.id)
      .join(' '),
  );
  const reversed = [...six].reverse();
  assert.deepEqual(
    sample.map((k) =>
      orderByKey(
        reversed,
        k,
        (s) => s.id,
        (s) => s.weight,
      )
        .map((s) => s.id)
        .join(' '),
    ),
    here,
  );
  const script = `const { orderByKey } = require('./src/core/rfc3263/affinity.ts');
const six = ${JSON.stringify(six)};
const out = ${JSON.stringify(sample)}.map((k) => orderByKey(six, k, (s) => s.id, (s) => s.weight).map((s) => s.id).join(' '));
process.stdout.write(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), here);
});

test('weight-0 servers come after every weighted one, for every key', () => {
  const mixed: Server[] = [
    { id: 'zero1.example.com:5060', weight: 0 },
    { id: 'one.example.com:5060', weight: 1 },
    { id: 'zero2.example.com:5060', weight: 0 },
    { id: 'two.example.com:5060', weight: 5 },
  ];
  for (const k of keys.slice(0, 1000)) {
    const order = orderByKey(
      mixed,
      k,
      (s) => s.id,
      (s) => s.weight,
    ).map((s) => s.weight);
    assert.deepEqual(order.slice(2).sort(), [0, 0], `key ${k}: ${order.join(',')}`);
  }
});
