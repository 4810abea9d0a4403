// The one target order (src/core/failover/order.ts): for any mix of marks, operator states, probe health, pins and
// tried sets, failover() hands out exactly the first untried entry of the order locate() gives after the same mark,
// and never a disabled, black or down target while a usable untried one remains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createLocator, type SipLocator } from '../../src/core/locator';
import type { Failure, Target, TargetKey } from '../../src/core/types';

const N = 6;
// Two SRV priorities with three equal-weight targets each: the weighted draw decides ties, so the test pins random.
const STATIC = [
  ...Array.from(
    { length: N },
    (_, i) => `_sip._udp.order.test. 60 IN SRV ${i < 3 ? 10 : 20} 10 5060 h${i}.order.test.`,
  ),
  ...Array.from({ length: N }, (_, i) => `h${i}.order.test. 60 IN A 127.0.0.${21 + i}`),
].join('\n');
const URI = 'sip:order.test;transport=udp';
const NOW = 1_700_000_000_000;
const key = (i: number): TargetKey => ({ transport: 'udp', address: `127.0.0.${21 + i}`, port: 5060 });
const addr = (t: TargetKey | undefined): string | undefined => t?.address;

interface Case {
  marks: Array<'none' | 'grey' | 'black'>;
  admin: Array<'none' | 'drain' | 'disable'>;
  health: Array<'unknown' | 'up' | 'down'>;
  pin: number | undefined;
  tried: number[];
  failure: Failure;
  shuffle: number[];
  draw: number;
}

const cases: fc.Arbitrary<Case> = fc.record({
  marks: fc.array(fc.constantFrom('none' as const, 'grey' as const, 'black' as const), { minLength: N, maxLength: N }),
  admin: fc.array(fc.constantFrom('none' as const, 'none' as const, 'drain' as const, 'disable' as const), {
    minLength: N,
    maxLength: N,
  }),
  health: fc.array(fc.constantFrom('unknown' as const, 'up' as const, 'down' as const), { minLength: N, maxLength: N }),
  pin: fc.option(fc.integer({ min: 0, max: N - 1 }), { nil: undefined }),
  tried: fc.uniqueArray(fc.integer({ min: 0, max: N - 1 }), { minLength: 1, maxLength: N }),
  failure: fc.constantFrom<Failure>({ reason: 'transport' }, { reason: 'timeout' }, { reason: '503', retryAfter: 120 }),
  shuffle: fc.shuffledSubarray([0, 1, 2, 3, 4, 5], { minLength: N, maxLength: N }),
  draw: fc.double({ min: 0, max: 0.999, noNaN: true }),
});

/** A sticky locator in the state the case describes (the pin applied last, as a remote pin racing a mark would be). */
async function prepared(c: Case): Promise<{ l: SipLocator; all: Target[]; destination: string }> {
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: STATIC,
    transports: ['udp'],
    sticky: true,
    clock: { now: () => NOW },
    random: () => c.draw,
  });
  const first = await l.locate(URI);
  const all = first.targets;
  assert.equal(all.length, N);
  for (let i = 0; i < N; i++) {
    const h = c.health[i];
    if (h !== 'unknown') for (let k = 0; k < 2; k++) l.probed(key(i), { alive: h === 'up' });
    const m = c.marks[i];
    if (m !== undefined && m !== 'none') l.apply({ op: 'mark', mark: { ...key(i), mark: m, expiresAt: NOW + 60_000 } });
    const a = c.admin[i];
    if (a !== undefined && a !== 'none') l.apply({ op: 'admin', admin: { ...key(i), state: a, since: NOW } });
  }
  // The first locate pinned all[0]; the case's pin replaces it, or there is none.
  l.apply({ op: 'unpin', destination: first.destination, target: all[0]! });
  const pinned = all.find((t) => t.address === key(c.pin ?? 0).address)!;
  if (c.pin !== undefined)
    l.apply({
      op: 'pin',
      pin: { destination: first.destination, target: pinned, pinnedAt: NOW, expiresAt: NOW + 3_600_000 },
    });
  return { l, all, destination: first.destination };
}

test('failover() returns the first untried entry of the order locate() gives after the same mark (1000 random states)', async () => {
  await fc.assert(
    fc.asyncProperty(cases, async (c) => {
      const tried = c.tried.map(key);
      const failed = tried[tried.length - 1]!;
      // A: the same mark, then locate()'s order (its listed targets, then the disabled ones failover may still reach).
      const a = await prepared(c);
      a.l.markFailed(failed, c.failure);
      const listed = a.l.locateCached(URI)!.targets;
      const disabled = a.all.filter(
        (t) =>
          c.admin[Number(t.address.split('.')[3]) - 21] === 'disable' && !listed.some((x) => x.address === t.address),
      );
      const expected = [...listed, ...disabled].find((t) => !tried.some((k) => k.address === t.address));
      // B: failover() on the list a request carries (in some earlier order).
      const b = await prepared(c);
      const carried = c.shuffle.map((i) => b.all[i]!);
      const next = b.l.failover({ destination: b.destination, targets: carried, tried }, c.failure);
      assert.equal(addr(next), addr(expected), `failover() and locate() disagree for ${JSON.stringify(c)}`);
      // Independently of the order module: no disabled, black or down target while a usable untried one remains.
      const state = (i: number): { usable: boolean; bad: boolean } => {
        const failedHere = key(i).address === failed.address;
        const black = c.marks[i] === 'black' || (failedHere && c.failure.reason === '503');
        const grey = !black && (c.marks[i] === 'grey' || failedHere);
        const down = c.health[i] === 'down';
        return {
          usable: c.admin[i] === 'none' && !black && !grey && !down,
          bad: c.admin[i] === 'disable' || black || down,
        };
      };
      const untried = [...Array(N).keys()].filter((i) => !c.tried.includes(i));
      if (untried.some((i) => state(i).usable)) {
        assert.ok(next, 'a usable target is left');
        const i = Number(next.address.split('.')[3]) - 21;
        assert.equal(
          state(i).bad,
          false,
          `handed out ${next.address} (disabled, black or down) while a usable one remains: ${JSON.stringify(c)}`,
        );
      }
      a.l.close();
      b.l.close();
    }),
    { numRuns: 1000, seed: 22 },
  );
});

test('a pin another instance wrote for a black-marked, down or disabled target is kept but not honoured', async () => {
  for (const bad of ['black', 'down', 'disable'] as const) {
    const l = createLocator({
      nameservers: ['127.0.0.1:9'],
      staticRecords: STATIC,
      transports: ['udp'],
      sticky: true,
      clock: { now: () => NOW },
      random: () => 0,
    });
    const first = await l.locate(URI);
    const victim = first.targets[3]!;
    if (bad === 'black')
      l.apply({ op: 'mark', mark: { ...key(3), address: victim.address, mark: 'black', expiresAt: NOW + 60_000 } });
    if (bad === 'down') for (let k = 0; k < 2; k++) l.probed(victim, { alive: false });
    if (bad === 'disable')
      l.apply({
        op: 'admin',
        admin: { transport: 'udp', address: victim.address, port: 5060, state: 'disable', since: NOW },
      });
    l.apply({
      op: 'pin',
      pin: { destination: first.destination, target: victim, pinnedAt: NOW, expiresAt: NOW + 3_600_000 },
    });
    for (let n = 0; n < 100; n++) {
      const r = await l.locate(URI);
      assert.notEqual(r.targets[0]!.address, victim.address, `${bad}: lookup ${n} went to the ${bad} target`);
      assert.equal(r.sticky, false, `${bad}: not reported as sticky`);
    }
    assert.equal(l.pinnedTarget(first.destination)?.address, victim.address, `${bad}: the pin is kept`);
    l.close();
  }
});
