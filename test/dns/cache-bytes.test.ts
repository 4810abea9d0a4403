// The cache's byte bound: large RRsets count by their size; the bound holds exactly at its size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsCache, entryBytes, type CacheEntry } from '../../src/core/dns/cache';
import { createDnsClient } from '../../src/core/dns/client';
import type { DnsRecord } from '../../src/core/dns/types';
import { reply, startFakeDns } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

function aEntry(name: string, count: number): CacheEntry {
  const records: DnsRecord[] = Array.from({ length: count }, (_, i) => ({
    name,
    type: 'A',
    ttl: 60,
    data: `192.0.2.${i % 256}`,
  }));
  return {
    kind: 'positive',
    name,
    type: 'A',
    canonicalName: name,
    records,
    trust: 'answer',
    nameserver: '127.0.0.1:53',
    expiresAt: 1e15,
  };
}

test('entries fill the cache exactly to cacheBytes; one byte more evicts the least recently used', () => {
  const small = (i: number): [string, CacheEntry] => [`A h${i}.example.test`, aEntry(`h${i}.example.test`, 1)];
  const each = entryBytes(...small(0));
  const cache = new DnsCache(1000, () => 0, 0, 3 * each);
  for (const i of [0, 1, 2]) assert.equal(cache.set(...small(i)), true);
  assert.deepEqual([cache.size, cache.bytes], [3, 3 * each], 'at the bound, nothing evicted');
  assert.ok(cache.get('A h0.example.test'), 'h0 becomes the most recently used');
  cache.set(...small(3));
  assert.deepEqual([cache.size, cache.bytes], [3, 3 * each]);
  assert.equal(cache.get('A h1.example.test'), undefined, 'h1 was the least recently used');
  assert.ok(cache.get('A h0.example.test'));
});

test('a large RRset counts by its size: it pushes out as many small ones as it weighs, and one over the bound is not stored', () => {
  const big = aEntry('big.example.test', 64);
  const bigBytes = entryBytes('A big.example.test', big);
  const smallBytes = entryBytes('A s0.example.test', aEntry('s0.example.test', 1));
  assert.ok(bigBytes > 20 * smallBytes, `64 records weigh more than 20 single ones (${bigBytes} vs ${smallBytes})`);
  const cache = new DnsCache(1000, () => 0, 0, bigBytes + 2 * smallBytes);
  for (let i = 0; i < 10; i++) cache.set(`A s${i}.example.test`, aEntry(`s${i}.example.test`, 1));
  assert.equal(cache.size, 10);
  assert.equal(cache.set('A big.example.test', big), true);
  assert.equal(cache.size, 3, 'the big RRset and the two newest small ones');
  assert.ok(cache.get('A s9.example.test') && cache.get('A s8.example.test') && !cache.get('A s7.example.test'));
  assert.ok(cache.bytes <= bigBytes + 2 * smallBytes);
  const tiny = new DnsCache(1000, () => 0, 0, bigBytes - 1);
  assert.equal(tiny.set('A big.example.test', big), false);
  assert.deepEqual([tiny.size, tiny.bytes], [0, 0]);
});

test('the client passes cacheBytes on: an answer larger than the bound is used but asked again next time', async () => {
  const fake = await startFakeDns((q) => [
    reply(q, {
      answers: Array.from({ length: 40 }, (_, i) => ({
        type: 'A' as const,
        name: q.name,
        ttl: 300,
        data: `192.0.2.${i + 1}`,
      })),
    }),
  ]);
  const c = createDnsClient({
    ...COUNTED,
    nameservers: [fake.nameserver],
    timeoutMs: 1000,
    tries: 1,
    cacheBytes: 2000,
  });
  assert.equal((await c.query('big.example.test', 'A')).records.length, 40);
  assert.equal((await c.query('big.example.test', 'A')).fromCache, false);
  assert.equal(fake.queries.length, 2);
  const roomy = createDnsClient({ nameservers: [fake.nameserver], timeoutMs: 1000, tries: 1 });
  await roomy.query('big.example.test', 'A');
  assert.equal((await roomy.query('big.example.test', 'A')).fromCache, true, 'the default 32 MiB holds it');
  c.close();
  roomy.close();
  await fake.stop();
});
