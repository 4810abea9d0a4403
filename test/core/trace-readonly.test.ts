// A traced locate (Try it, sip-locate --trace) reads marks and pins and changes nothing, over real BIND data.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator, type CreateLocatorOptions } from '../../src/core/locator';
import type { StateChange } from '../../src/core/types';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { seeded } from '../rfc3263/seeded';

const URI = 'sip:example.test;transport=udp';

describe('a traced locate is read-only', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  before(async () => {
    server = await startDnsServer('bind');
  });
  after(async () => server?.stop());
  const make = (o: CreateLocatorOptions = {}): ReturnType<typeof createLocator> =>
    createLocator({
      nameservers: [server.nameserver],
      clock,
      random: seeded(5),
      family: 'ipv4',
      sticky: true,
      pinSeconds: 100,
      ...o,
    });

  test('it neither makes, renews, drops nor uses a pin, and does not fill the plan cache', async () => {
    const l = make({ maxPins: 2 });
    const seen: StateChange[] = [];
    // Marks and pins only: the last good plan a real locate reports is tested in saved-plan.test.ts.
    l.onChange((c) => {
      if (c.op !== 'plan') seen.push(c);
    });

    const first = await l.locate(URI, { trace: true });
    assert.equal(first.trace?.kind, 'uri');
    assert.equal(first.sticky, true, 'it says what a real locate would pin');
    assert.deepEqual(l.state(), { marks: [], pins: [] });
    assert.equal(l.locateCached(URI), undefined, 'the plan cache was not filled');
    assert.equal(seen.length, 0);

    const real = await l.locate(URI);
    l.markFailed(real.targets[2]!, { reason: '503', retryAfter: 600 });
    assert.deepEqual(
      seen.map((c) => c.op),
      ['pin', 'mark'],
    );
    now += 60_000; // past half the pin's lifetime: a real locate would renew it
    const state = l.state();
    const traced = await l.locate(URI, { trace: true });
    assert.equal(traced.targets[0]!.address, real.targets[0]!.address, 'the pinned target first');
    assert.equal(traced.sticky, true);
    assert.equal(traced.targets[2]!.mark, 'black', 'marks are read');
    assert.deepEqual(l.state(), state, 'the pin was not renewed');
    assert.equal(seen.length, 2);

    l.markSucceeded({ transport: 'udp', address: '127.0.9.9', port: 5070 }, real.destination); // a pin DNS does not list
    const moved = l.state();
    const unlisted = await l.locate(URI, { trace: true });
    assert.notEqual(unlisted.targets[0]!.address, '127.0.9.9');
    assert.deepEqual(l.state(), moved, 'the unlisted pin was not dropped or replaced');
    assert.equal(seen.length, 3);

    // Least recently used: URI's pin, then sip:127.0.0.5's. A trace of URI does not count as a use.
    await l.locate('sip:127.0.0.5');
    await l.locate(URI, { trace: true });
    await l.locate('sip:127.0.0.6');
    assert.deepEqual(
      seen.slice(3).map((c) => (c.op === 'expired' ? c.destination : c.op)),
      ['pin', real.destination, 'pin'],
    );
    l.close();
  });
});
