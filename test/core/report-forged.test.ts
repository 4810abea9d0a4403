// Reports that can only touch what was handed out (issue 23): forged reports through numeric URIs and JSON bodies,
// marks per destination, the report rate limit and the report marks' own bound, over real BIND data.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import { isSipLocateError } from '../../src/core/errors';
import { Marks } from '../../src/core/failover/marks';
import { isReport, parseReport } from '../../src/core/failover/report';
import {
  HANDED_OUT_MS,
  HandedOut,
  REPORT_MARKS_PER_WINDOW,
  REPORT_WINDOW_MS,
  ReportMarks,
} from '../../src/core/failover/report-guard';
import type { Plan } from '../../src/core/rfc3263/plan';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { seeded } from '../rfc3263/seeded';

const URI = 'sip:example.test;transport=udp';

describe('forged reports against a locator over BIND', { skip: skipUnless('bind') }, () => {
  let server: RunningDnsServer;
  let now = 1_700_000_000_000;
  const clock = { now: () => now };
  before(async () => {
    server = await startDnsServer('bind');
  });
  after(async () => server?.stop());
  const make = (o: { numericReportsShared?: boolean } = {}): ReturnType<typeof createLocator> =>
    createLocator({ nameservers: [server.nameserver], clock, random: seeded(3), family: 'ipv4', ...o });
  const markIn = async (l: ReturnType<typeof createLocator>, uri: string, key: string): Promise<string | undefined> =>
    (await l.locate(uri)).targets.find((x) => x.key === key)?.mark;

  test('a report about a destination this resolver never handed out is ENOTATARGET, even when the target is real', async () => {
    const l = make();
    try {
      const t = (await l.locate(URI)).targets[0]!;
      const numeric = `sip:${t.address}:${t.port};transport=udp`;
      await assert.rejects(
        l.failoverFrom(numeric, t.key, { status: 503, retryAfter: 999999 }),
        (e: unknown) => isSipLocateError(e, 'ENOTATARGET') && /was not handed out for/.test(e.message),
      );
      assert.deepEqual(l.state().marks, []);
      assert.equal(await markIn(l, URI, t.key), undefined);
    } finally {
      l.close();
    }
  });

  test('a 503 for a numeric URI marks that numeric destination only, never the shared target; numericReportsShared allows it', async () => {
    for (const shared of [false, true]) {
      const l = make({ numericReportsShared: shared });
      try {
        const t = (await l.locate(URI)).targets[0]!;
        const numeric = `sip:${t.address}:${t.port};transport=udp`;
        await l.locate(numeric);
        await l.failoverFrom(numeric, t.key, { status: 503, retryAfter: 999999 });
        assert.equal(await markIn(l, numeric, t.key), 'black');
        assert.equal(await markIn(l, URI, t.key), shared ? 'black' : undefined);
        assert.equal(l.state().marks.length, shared ? 1 : 0);
      } finally {
        l.close();
      }
    }
  });

  test("3,000 forged reports through numeric URIs and JSON bodies that name targets: no mark on another destination's targets", async () => {
    const l = make();
    try {
      const targets = (await l.locate(URI)).targets;
      for (let i = 0; i < 3000; i++) {
        const t = targets[i % targets.length]!;
        const numeric = `sip:${t.address}:${t.port};transport=udp`;
        // The audit's JSON body: a report that also carries targets, target and destination is still a report.
        const body =
          i % 2 === 0
            ? { uri: numeric, failed: t.key, status: 503, retryAfter: 999999 }
            : {
                uri: numeric,
                failed: t.key,
                status: 500,
                targets: [t],
                target: t,
                destination: 'sip:example.test;transport=udp',
              };
        assert.equal(isReport(body), true);
        const report = parseReport(body);
        assert.ok(!(report instanceof Error));
        if (i === 1500) await l.locate(numeric); // the numeric URI handed out mid-way, as an attacker routing a call through the proxy could
        await l
          .failoverFrom(report.uri, report.failed, {
            status: report.status,
            retryAfter: report.retryAfter,
            failoverCodes: '5xx',
          })
          .catch((e: unknown) => {
            assert.ok(isSipLocateError(e, 'ENOTATARGET'), String(e));
          });
      }
      assert.deepEqual(l.state().marks, []);
      for (const t of targets) assert.equal(await markIn(l, URI, t.key), undefined, t.key);
    } finally {
      l.close();
    }
  });

  test(`a destination's reports make at most ${REPORT_MARKS_PER_WINDOW} marks per ${REPORT_WINDOW_MS / 1000} s`, async () => {
    const l = make();
    try {
      const targets = (await l.locate(URI)).targets;
      // Each report greys (or re-greys) a target: a change, counted against the destination's window.
      for (let i = 0; i < REPORT_MARKS_PER_WINDOW; i++)
        await l.failoverFrom(URI, targets[i % targets.length]!.key, { reason: 'timeout' });
      now += 33_000; // the grey marks (32 s) expired, the window (60 s) not
      await l.failoverFrom(URI, targets[0]!.key, { reason: 'timeout' });
      assert.equal(await markIn(l, URI, targets[0]!.key), undefined);
      now += REPORT_WINDOW_MS - 33_000;
      await l.failoverFrom(URI, targets[0]!.key, { reason: 'timeout' });
      assert.equal(await markIn(l, URI, targets[0]!.key), 'grey');
    } finally {
      l.close();
    }
  });

  test(`a hand-out counts for ${HANDED_OUT_MS / 60_000} minutes`, async () => {
    const l = make();
    try {
      const t = (await l.locate(URI)).targets[0]!;
      now += HANDED_OUT_MS + 1;
      // The report's own locate does not count as a hand-out.
      await assert.rejects(l.failoverFrom(URI, t.key, { reason: 'timeout' }), (e: unknown) =>
        isSipLocateError(e, 'ENOTATARGET'),
      );
      await l.locate(URI);
      const r = await l.failoverFrom(URI, t.key, { reason: 'timeout' });
      assert.notEqual(r.target?.key, t.key);
    } finally {
      l.close();
    }
  });
});

describe('report bounds', () => {
  const key = (i: number): { transport: 'udp'; address: string; port: number } => ({
    transport: 'udp',
    address: `192.0.2.${i}`,
    port: 5060,
  });

  test('marks from reports have their own bound and never evict marks the flow made', () => {
    let now = 0;
    const m = new Marks({ now: () => now }, 32, 3600, 4, () => undefined, 2);
    for (let i = 1; i <= 3; i++) m.mark(key(i), { reason: '503', retryAfter: 10 * i });
    for (let i = 10; i < 20; i++) m.mark(key(i), { reason: '503', retryAfter: 3600 }, true);
    assert.equal(m.size, 4);
    assert.equal(m.reportedSize, 1);
    for (let i = 1; i <= 3; i++) assert.ok(m.get(key(i)), `flow mark ${i} kept`);
    m.mark(key(4), { reason: 'timeout' });
    assert.equal(m.reportedSize, 0);
    for (let i = 1; i <= 4; i++) assert.ok(m.get(key(i)));
    // Full of the flow's marks: a report marks nothing.
    assert.equal(m.mark(key(30), { reason: '503', retryAfter: 3600 }, true).changed, false);
    assert.equal(m.size, 4);
    now += 1;
  });

  test('report marks per destination and the hand-out registry are bounded', () => {
    const clock = { now: () => 0 };
    const r = new ReportMarks(clock, 32, 3600, 100);
    for (let i = 0; i < 250; i++) r.put(`sip:d${i}.example`, r.markOf(key(1), { reason: 'timeout' }));
    assert.equal(r.size, 100);
    assert.equal(r.get('sip:d0.example', key(1)), undefined);
    assert.equal(r.get('sip:d249.example', key(1))?.mark, 'grey');
    const h = new HandedOut(clock, 100);
    const plan: Plan = { entries: [], ttl: 60 };
    for (let i = 0; i < 250; i++) h.record(`sip:d${i}.example`, plan);
    assert.equal(h.size, 100);
  });
});
