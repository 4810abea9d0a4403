// Affinity figures (issue: sticky per caller, balanced across callers): how evenly weighted rendezvous hashing shares
// keys, how many keys move when one server fails, and where they go.
import { orderByKey } from '../../src/core/rfc3263/affinity';

interface Server {
  id: string;
  weight: number;
}

/** The pure hashing figures over 6 equal-weight servers and 10,000 keys. */
export function hashingFigures(keyCount = 10_000): Record<string, number> {
  const servers: Server[] = [1, 2, 3, 4, 5, 6].map((i) => ({ id: `pbx${i}.carrier.test:5060`, weight: 10 }));
  const keys = Array.from({ length: keyCount }, (_, i) => `call-${i}@198.51.100.7`);
  const first = (list: readonly Server[], key: string): string => orderByKey(list, key, (s) => s.id, (s) => s.weight)[0]!.id;
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

/** Every affinity figure the bench reports. */
export async function benchAffinity(): Promise<Record<string, number | boolean>> {
  return hashingFigures();
}

if (require.main === module) {
  void benchAffinity().then((f) => process.stdout.write(JSON.stringify(f, null, 1) + '\n'));
}
