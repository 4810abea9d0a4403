// The probe T1 follows the target's round trip: more copies fit in the timeout, so a live target that loses a few
// requests stays up; a stopped one is found down in the same time as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import type { ProbeOutcome } from '../../src/core/failover/health';
import { Monitor, nextT1, T1_CEILING_MS, T1_FLOOR_MS } from '../../src/monitor/scheduler';
import { monitorSettingsFrom } from '../../src/monitor/settings';
import { startUdpUas } from './udp-uas';

test('nextT1: twice the smoothed round trip within floor and ceiling; a round trip at or past T1 is not sampled (Karn); a failure doubles T1', () => {
  assert.deepEqual(nextT1(undefined, 500, 40, 500), { srttMs: 40, t1Ms: 80 });
  assert.deepEqual(nextT1(undefined, 500, 1, 500), { srttMs: 1, t1Ms: T1_FLOOR_MS });
  assert.deepEqual(nextT1(undefined, 500, 400, 500), { srttMs: 400, t1Ms: T1_CEILING_MS });
  assert.deepEqual(
    nextT1(40, 80, 80, 500),
    { srttMs: 40, t1Ms: 80 },
    "an answer after T1 may be a retransmission's: not sampled",
  );
  assert.deepEqual(nextT1(40, 80, undefined, 500), { srttMs: 40, t1Ms: 160 }, 'a failed probe backs off');
  assert.deepEqual(nextT1(40, 400, undefined, 500), { srttMs: 40, t1Ms: 500 });
  assert.deepEqual(nextT1(40, 80, 48, 500), { srttMs: 41, t1Ms: 90 }, 'smoothed with weight 1/8, in 10 ms steps');
});

test('a live target whose first four copies of each probe are lost stays up (downAfter 1); stopped, it is down after one probe timeout', async () => {
  const uas = await startUdpUas();
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: [`_sip._udp.t1.test. 60 IN SRV 10 0 ${uas.port} h.t1.test.`, 'h.t1.test. 60 IN A 127.0.0.1'],
    transports: ['udp'],
  });
  const outcomes: ProbeOutcome[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  const m = new Monitor(
    l,
    monitorSettingsFrom({ monitorUris: 'sip:t1.test', monitorInterval: 0.5, monitorDownAfter: 1, monitorTimeout: 1 })!,
    {
      onProbe: (o) => {
        outcomes.push(o);
        if (waiter && outcomes.length >= waiter.n) waiter.resolve();
      },
    },
  );
  const probes = (n: number): Promise<void> =>
    new Promise((resolve) => {
      waiter = { n: outcomes.length + n, resolve };
    });
  let downs = 0;
  const off = l.events.on((e) => {
    if (e.op === 'down') downs++;
  });
  m.start();
  await probes(5); // round trips are learnt: T1 drops from 250 ms (timeout / 4) to the floor
  uas.dropFirst = 4;
  const before = uas.received;
  await probes(6);
  assert.deepEqual(
    outcomes.slice(-6).map((o) => o.alive),
    [true, true, true, true, true, true],
    'every probe answered on its fifth copy',
  );
  assert.ok(uas.received - before >= 5 * 5, 'five copies per probe reached the server');
  assert.equal(downs, 0, 'never reported down');
  // With T1 = timeout / 4 (250 ms), only copies at 0, 250 and 750 ms fit in 1 s: four lost copies would fail each probe.
  await uas.stop();
  const t0 = performance.now();
  await probes(1);
  assert.equal(outcomes.at(-1)!.alive, false);
  assert.equal(downs, 1);
  assert.ok(performance.now() - t0 < 3000, 'down after one probe timeout (1 s) plus at most one interval (0.5 s)');
  off();
  await m.close();
  l.close();
});
