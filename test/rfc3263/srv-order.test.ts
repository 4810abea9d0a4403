import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { orderSrv } from '../../src/core/rfc3263/srv';
import { createLocator } from '../../src/core/locator';
import type { SrvData } from '../../src/core/dns/types';
import { seeded } from './seeded';

const srvArb = fc.array(
  fc.record({
    priority: fc.integer({ min: 0, max: 4 }),
    weight: fc.integer({ min: 0, max: 100 }),
    port: fc.integer({ min: 1, max: 65535 }),
    target: fc.constantFrom('a.t', 'b.t', 'c.t', 'd.t', 'e.t', '.'),
  }),
  { maxLength: 20 },
);

test('property: priority order is never violated', () => {
  fc.assert(
    fc.property(srvArb, fc.integer(), (records, seed) => {
      const out = orderSrv(records, seeded(seed));
      for (let i = 1; i < out.length; i++) assert.ok(out[i - 1]!.priority <= out[i]!.priority);
    }),
    { numRuns: 500, seed: 1 },
  );
});

test('property: every record except "." appears exactly once', () => {
  fc.assert(
    fc.property(srvArb, fc.integer(), (records, seed) => {
      const out = orderSrv(records, seeded(seed));
      const live = records.filter((r) => r.target !== '.');
      assert.equal(out.length, live.length);
      for (const r of live) assert.ok(out.includes(r));
    }),
    { numRuns: 500, seed: 2 },
  );
});

test('property: weight-0 records come after the weighted ones of their priority, in DNS order', () => {
  fc.assert(
    fc.property(srvArb, fc.integer(), (records, seed) => {
      const out = orderSrv(records, seeded(seed));
      for (const p of new Set(out.map((r) => r.priority))) {
        const group = out.filter((r) => r.priority === p);
        const firstZero = group.findIndex((r) => r.weight === 0);
        if (firstZero >= 0) assert.ok(group.slice(firstZero).every((r) => r.weight === 0));
        const zeros = records.filter((r) => r.priority === p && r.weight === 0 && r.target !== '.');
        assert.deepEqual(
          group.filter((r) => r.weight === 0),
          zeros,
        );
      }
    }),
    { numRuns: 500, seed: 3 },
  );
});

test('RFC 2782 draw in [1..sum]: weights 1 and 2 put the heavier first 2/3 of the time (6000 runs, +-0.03)', () => {
  const recs: SrvData[] = [
    { priority: 0, weight: 1, port: 1, target: 'server1' },
    { priority: 0, weight: 2, port: 1, target: 'server2' },
  ];
  const rnd = seeded(99);
  let heavy = 0;
  for (let i = 0; i < 6000; i++) if (orderSrv(recs, rnd)[0]!.target === 'server2') heavy++;
  assert.ok(Math.abs(heavy / 6000 - 2 / 3) < 0.03, `${heavy / 6000}`);
});

test('random() at its extremes stays in range', () => {
  const recs: SrvData[] = [
    { priority: 0, weight: 5, port: 1, target: 'x' },
    { priority: 0, weight: 5, port: 1, target: 'y' },
  ];
  assert.equal(orderSrv(recs, () => 0)[0]!.target, 'x');
  assert.equal(orderSrv(recs, () => 0.9999999999)[0]!.target, 'y');
});

test('more SRV hosts than are followed (16): the weighted draw picks which, so a heavy record listed last wins ~98 % of first places', async () => {
  // 16 records of weight 1, then one of weight 1000: RFC 2782 gives the heavy one 1000/1016 of first places.
  const light = Array.from({ length: 16 }, (_, i) => `_sip._udp.wide.test. 60 IN SRV 10 1 5060 l${i}.wide.test.`);
  const hosts = Array.from({ length: 16 }, (_, i) => `l${i}.wide.test. 60 IN A 127.0.30.${i + 1}`);
  const staticRecords = [
    ...light,
    '_sip._udp.wide.test. 60 IN SRV 10 1000 5060 heavy.wide.test.',
    ...hosts,
    'heavy.wide.test. 60 IN A 127.0.31.1',
  ];
  // cacheSize 0: every locate builds its plan anew, so each is one seeded draw of which 16 hosts are looked up.
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords,
    transports: ['udp'],
    cacheSize: 0,
    random: seeded(2782),
  });
  const runs = 400;
  let heavyFirst = 0;
  for (let i = 0; i < runs; i++)
    if ((await l.locate('sip:wide.test;transport=udp')).targets[0]!.address === '127.0.31.1') heavyFirst++;
  l.close();
  assert.ok(
    heavyFirst >= runs * 0.95 && heavyFirst <= runs * 0.999,
    `heavy first in ${heavyFirst} of ${runs} draws; RFC 2782 expects about 98 %`,
  );
});
