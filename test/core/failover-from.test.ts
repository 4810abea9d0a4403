// locator.failoverFrom(): failures and confirmations reported from outside the flow, over real BIND data.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import { isSipLocateError } from '../../src/core/errors';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { seeded } from '../rfc3263/seeded';

const URI = 'sip:example.test;transport=udp';

describe('locator.failoverFrom()', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  const now = 1_700_000_000_000;
  const clock = { now: () => now };
  before(async () => {
    server = await startDnsServer('bind');
  });
  after(async () => server?.stop());
  /** The mark a target carries when `uri` is located now (reports mark most failures for their destination only). */
  const markIn = async (l: ReturnType<typeof createLocator>, uri: string, key: string): Promise<string | undefined> =>
    (await l.locate(uri)).targets.find((x) => x.key === key)?.mark;
  const make = (sticky = true): ReturnType<typeof createLocator> =>
    createLocator({ nameservers: [server.nameserver], clock, random: seeded(3), family: 'ipv4', sticky });

  test('a 503 with Retry-After blacklists the reported target, moves the pin and names the next target', async () => {
    const l = make();
    const first = (await l.locate(URI)).targets;
    const r = await l.failoverFrom(URI, first[0]!.key, { status: 503, retryAfter: 60 });
    assert.equal(r.confirmed, false);
    assert.equal(r.target?.key, first[1]!.key);
    assert.deepEqual(
      r.tried.map((t) => t.address),
      [first[0]!.address, first[1]!.address],
    );
    assert.deepEqual(
      l.state().marks.map((m) => [m.address, m.mark, m.expiresAt - now]),
      [[first[0]!.address, 'black', 60_000]],
    );
    assert.equal(l.pinnedTarget(r.destination)?.key, first[1]!.key);
    assert.equal(r.sticky, true);
    l.close();
  });

  test('the tried list is skipped; the uri form of a target works; no target left gives none', async () => {
    const l = make(false);
    const t = (await l.locate(URI)).targets;
    const r = await l.failoverFrom(URI, t[1]!.uri, { reason: 'timeout', tried: [t[0]!.key] });
    assert.equal(r.target?.key, t[2]!.key);
    const last = await l.failoverFrom(URI, t[2]!.key, { reason: 'transport', tried: [t[0]!.key, t[1]!.key] });
    assert.equal(last.target, undefined);
    assert.equal(last.tried.length, 3);
    l.close();
  });

  test("a target that is not one of the destination's is refused with ENOTATARGET and nothing is marked or unpinned", async () => {
    const l = make();
    const r0 = await l.locate(URI);
    const before = JSON.stringify(l.state());
    for (const stranger of [
      'udp:10.9.9.9:5060',
      `tcp:${r0.targets[0]!.address}:${r0.targets[0]!.port}`,
      `udp:${r0.targets[0]!.address}:1`,
    ]) {
      await assert.rejects(
        l.failoverFrom(URI, stranger, { status: 503, retryAfter: 600 }),
        (e: unknown) => isSipLocateError(e, 'ENOTATARGET') && /nothing was marked/.test(e.message),
      );
      await assert.rejects(l.failoverFrom(URI, stranger, { ok: true }), (e: unknown) =>
        isSipLocateError(e, 'ENOTATARGET'),
      );
    }
    assert.equal(JSON.stringify(l.state()), before);
    l.close();
  });

  test('a status not in failoverCodes is ENOFAILOVER and marks nothing; a wider list fails over on it', async () => {
    const l = make();
    const t = (await l.locate(URI)).targets;
    await assert.rejects(
      l.failoverFrom(URI, t[0]!.key, { status: 486 }),
      (e: unknown) => isSipLocateError(e, 'ENOFAILOVER') && /486/.test(e.message),
    );
    await assert.rejects(l.failoverFrom(URI, t[0]!.key, { status: 500 }), (e: unknown) =>
      isSipLocateError(e, 'ENOFAILOVER'),
    );
    assert.equal(l.state().marks.length, 0);
    const r = await l.failoverFrom(URI, t[0]!.key, { status: 500, failoverCodes: '408, 5xx' });
    assert.equal(r.target?.key, t[1]!.key);
    // A 500 greys the target for this destination only: not a mark every destination sees.
    assert.equal(l.state().marks.length, 0);
    assert.equal(await markIn(l, URI, t[0]!.key), 'grey');
    assert.equal(await markIn(l, `sip:${t[0]!.address}:${t[0]!.port};transport=udp`, t[0]!.key), undefined);
    l.close();
  });

  test('ok (or a 2xx status) confirms: the grey mark is cleared and the target pinned', async () => {
    const l = make();
    const t = (await l.locate(URI)).targets;
    await l.failoverFrom(URI, t[0]!.key, { reason: 'timeout' });
    assert.equal(await markIn(l, URI, t[0]!.key), 'grey');
    const c = await l.failoverFrom(URI, t[0]!.key, { status: 200 });
    assert.deepEqual([c.confirmed, c.target?.key, c.sticky], [true, t[0]!.key, true]);
    assert.equal(await markIn(l, URI, t[0]!.key), undefined);
    assert.equal(l.pinnedTarget(c.destination)?.key, t[0]!.key);
    await l.failoverFrom(URI, t[1]!.key, { ok: true });
    assert.equal(l.pinnedTarget(c.destination)?.key, t[1]!.key);
    l.close();
  });

  test('an IPv6 target may be named in any spelling: the report matches the canonical address', async () => {
    const l = createLocator({
      nameservers: [server.nameserver],
      clock,
      random: seeded(3),
      family: 'ipv6-first',
      sticky: false,
    });
    const t = (await l.locate('sip:example.test;transport=tcp')).targets;
    assert.equal(t[0]!.key, 'tcp:[::1]:5070');
    const r = await l.failoverFrom('sip:example.test;transport=tcp', 'tcp:[0:0:0:0:0:0:0:1]:5070', {
      reason: 'transport',
    });
    assert.equal(r.target?.key, 'tcp:127.0.0.1:5070');
    assert.equal(await markIn(l, 'sip:example.test;transport=tcp', 'tcp:[::1]:5070'), 'grey');
    l.close();
  });

  test('bad names and tried lists are EINVALIDMSG', async () => {
    const l = make();
    await assert.rejects(l.failoverFrom(URI, 'nowhere'), (e: unknown) => isSipLocateError(e, 'EINVALIDMSG'));
    await assert.rejects(l.failoverFrom(URI, 'udp:127.0.0.1:5070', { tried: ['x'] }), (e: unknown) =>
      isSipLocateError(e, 'EINVALIDMSG'),
    );
    await assert.rejects(l.failoverFrom('http://x', 'udp:127.0.0.1:5070'), (e: unknown) =>
      isSipLocateError(e, 'EINVALIDURI'),
    );
    l.close();
  });
});
