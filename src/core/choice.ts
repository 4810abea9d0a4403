/** Why a locate's first target was chosen (hash rank, pin, or failover), as a trace note for Try it and --trace. */
import type { Ordered } from './failover/order';
import { Standing } from './failover/order';
import { sameTarget, targetText } from './target';
import type { Target, TraceNode } from './types';

const STANDING_WORDS: Readonly<Record<Standing, string>> = {
  0: 'usable',
  1: 'drained',
  2: 'grey (recent failure)',
  3: 'dead (503 or found down)',
  4: 'disabled',
};

/**
 * The note: "pinned" when the order put the pin first; "hash rank N" / "RFC 3263 order" when the first target is the
 * first of the draw; otherwise the targets drawn before it and why each was passed over (failover).
 */
export function choiceNote(
  destination: string,
  drawn: readonly Target[],
  order: Ordered,
  key: string | undefined,
): TraceNode {
  const first = order.targets[0]!;
  const how =
    key !== undefined
      ? `weighted rendezvous hashing of the key "${key}"`
      : 'RFC 3263 order (NAPTR order, SRV priority, weighted draw)';
  const rank = drawn.findIndex((t) => sameTarget(t, first));
  let note: string;
  if (order.pinned) {
    note = `${targetText(first)} is the sticky server (pin) of ${destination}${key !== undefined ? ` for the key "${key}"` : ''}; by ${how} it ranks ${rank + 1}.`;
  } else if (rank === 0) {
    note =
      key !== undefined
        ? `${targetText(first)} has hash rank 1 for the key "${key}" (weighted rendezvous hashing over the servers of its priority).`
        : `${targetText(first)} is first in ${how}.`;
  } else {
    const passed = drawn.slice(0, Math.max(0, rank)).map((t) => {
      const i = order.targets.findIndex((o) => sameTarget(o, t));
      return `${targetText(t)} ${i < 0 ? 'left out' : STANDING_WORDS[order.standings[i]!]}`;
    });
    note = `Failover: ${targetText(first)} ranks ${rank + 1} by ${how}; passed over: ${passed.join(', ')}.`;
  }
  return { kind: 'note', name: 'choice', note, children: [] };
}
