// The locator's event hub: local changes to marks and pins reach event listeners in order; a failing listener does not stop others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import type { ResolverEvent } from '../../src/core/events';

test('marks and pins made here are events, in order, with their targets and expiries; apply() from elsewhere is not', async () => {
  let now = 1_000_000;
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    sticky: true,
    greylistSeconds: 30,
    clock: { now: () => now },
  });
  const seen: ResolverEvent[] = [];
  l.events.on(() => {
    throw new Error('a broken listener');
  });
  const off = l.events.on((e) => seen.push(e));
  const r = await l.locate('sip:127.0.0.2:5060');
  l.markFailed(r.targets[0]!, { reason: 'timeout' });
  now += 1000;
  l.markSucceeded(r.targets[0]!, 'sip:127.0.0.2:5060');
  l.apply({
    op: 'mark',
    mark: { transport: 'udp', address: '127.0.0.3', port: 5060, mark: 'black', expiresAt: now + 60_000 },
  });
  off();
  l.markFailed(r.targets[0]!, { reason: 'timeout' });
  assert.deepEqual(
    seen.map((e) => [e.op, e.target?.address, e.destination, e.state, e.at]),
    [
      ['pin', '127.0.0.2', r.destination, undefined, 1_000_000],
      ['mark', '127.0.0.2', undefined, 'grey', 1_000_000],
      ['unpin', '127.0.0.2', r.destination, undefined, 1_000_000],
      ['unmark', '127.0.0.2', undefined, undefined, 1_001_000],
      ['pin', '127.0.0.2', r.destination, undefined, 1_001_000],
    ],
  );
  assert.equal(seen[1]!.expiresAt, 1_030_000);
  l.close();
  assert.equal(l.events.size, 0, 'close drops the listeners');
});
