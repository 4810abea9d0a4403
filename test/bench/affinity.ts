// Affinity figures (issue: sticky per caller, balanced across callers): how evenly weighted rendezvous hashing shares
// keys, how many keys move when one server fails, and where they go.
import { performance } from 'node:perf_hooks';
import { createLocator, type SipLocator } from '../../src/core/locator';
import { orderByKey } from '../../src/core/rfc3263/affinity';

interface Server {
  id: string;
  weight: number;
}

/** The pure hashing figures over 6 equal-weight servers and 10,000 keys. */
export function hashingFigures(keyCount = 10_000): Record<string, number> {
  const servers: Server[] = [1, 2, 3, 4, 5, 6].map((i) => ({ id: `pbx${i}.carrier.test:5060`, weight: 10 }));
  const keys = Array.from({ length: keyCount }, (_, i) => `call-${i}@198.51.100.7`);
  const first = (list: readonly Server[], key: string): string =>
    orderByKey(
      list,
      key,
      (s) => s.id,
      (s) => s.weight,
    )[0]!.id;
  const before = new Map(keys.map((k) => [k, first(servers, k)]));
  const counts = new Map<string, number>();
  for (const id of before.values()) counts.set(id, (counts.get(id) ?? 0) + 1);
  const gone = servers[0]!.id;
  const rest = servers.filter((s) => s.id !== gone);
  const movedTo = new Map<string, number>(rest.map((s) => [s.id, 0]));
  let moved = 0;
  for (const k of keys) {
    const now = first(rest, k);
    if (now === before.get(k)) continue;
    moved++;
    movedTo.set(now, (movedTo.get(now) ?? 0) + 1);
  }
  const share = (counts.get(gone) ?? 0) / keys.length;
  const spread = [...movedTo.values()];
  return {
    'affinity.shareMaxMinRatio': Math.max(...counts.values()) / Math.min(...counts.values()),
    'affinity.movedOnFailure': moved / keys.length / share,
    'affinity.spreadOfMoved': Math.max(...spread) / Math.min(...spread),
  };
}

/** Six equal servers of one priority (and a backup), as zone lines: no DNS server is needed, nothing is sent. */
const POOL_RECORDS = [
  ...[1, 2, 3, 4, 5, 6].flatMap((i) => [
    `_sip._udp.pool.bench.test. 3600 IN SRV 10 10 5060 p${i}.pool.bench.test.`,
    `p${i}.pool.bench.test. 3600 IN A 127.0.5.${i}`,
  ]),
  '_sip._udp.pool.bench.test. 3600 IN SRV 20 10 5060 backup.pool.bench.test.',
  'backup.pool.bench.test. 3600 IN A 127.0.5.9',
];
const POOL = 'sip:pool.bench.test;transport=udp';

/** A keyed locator over the pool's static records (the nameserver is never asked: every name is static). */
function poolLocator(): SipLocator {
  return createLocator({ nameservers: ['127.0.0.1:9'], staticRecords: POOL_RECORDS, family: 'ipv4', affinity: 'key' });
}

/** Mean ns of one warm locate() over `n` calls, after a warm-up of n / 5. */
async function warmNs(l: SipLocator, n: number, key: (i: number) => string | undefined): Promise<number> {
  for (let i = 0; i < n / 5; i++) await l.locate(POOL, { key: key(i) });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await l.locate(POOL, { key: key(i) });
  return ((performance.now() - t0) * 1e6) / n;
}

/** The figures of keyed locates through two real locators: agreement without a store, and the cost of a key. */
export async function locatorFigures(keyCount = 10_000, n = 100_000): Promise<Record<string, number>> {
  const a = poolLocator();
  const b = poolLocator();
  try {
    const keys = Array.from({ length: keyCount }, (_, i) => `caller-${i}@198.51.100.7`);
    let same = 0;
    for (const key of keys) {
      const x = (await a.locate(POOL, { key })).targets.map((t) => t.key).join(' ');
      const y = (await b.locate(POOL, { key })).targets.map((t) => t.key).join(' ');
      if (x === y) same++;
    }
    // Alternate the two measurements, three rounds each, and take the best of each (least disturbed by the machine).
    const keyed: number[] = [];
    const plain: number[] = [];
    for (let round = 0; round < 3; round++) {
      keyed.push(await warmNs(a, n, (i) => keys[i % keys.length]));
      plain.push(await warmNs(a, n, () => undefined));
    }
    const k = Math.min(...keyed);
    const p = Math.min(...plain);
    return {
      'affinity.instancesAgree': same / keys.length,
      'affinity.warmLocateNs': Math.round(k),
      'affinity.unkeyedLocateNs': Math.round(p),
      'affinity.keyedRatio': Math.round((k / p) * 100) / 100,
    };
  } finally {
    a.close();
    b.close();
  }
}

/** Every affinity figure the bench reports. */
export async function benchAffinity(): Promise<Record<string, number | boolean>> {
  return { ...hashingFigures(), ...(await locatorFigures()) };
}

if (require.main === module) {
  void benchAffinity().then((f) => process.stdout.write(JSON.stringify(f, null, 1) + '\n'));
}
