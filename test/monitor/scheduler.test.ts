// The probe scheduler against real UDP servers on loopback (stop one: down; start it again: up; one event each),
// and its timing rules under a controllable clock (spread over the interval, never two probes at once per target).
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import type { ResolverEvent } from '../../src/core/events';
import { Monitor } from '../../src/monitor/scheduler';
import { monitorSettingsFrom } from '../../src/monitor/settings';
import type { ProbeOptions, ProbeResult } from '../../src/probe/prober';
import { SipLocateError } from '../../src/core/errors';
import type { Target } from '../../src/core/types';
import { startUdpUas } from './udp-uas';
import { startSipResponder } from '../probe/sip-responder';

/** Static records for `_sip._udp.<name>` with one SRV per port (priority = its index), all on 127.0.0.1. */
function pool(name: string, ports: number[]): string[] {
  return [
    ...ports.map((p, i) => `_sip._udp.${name}. 60 IN SRV ${10 * (i + 1)} 0 ${p} h${i}.${name}.`),
    ...ports.map((_, i) => `h${i}.${name}. 60 IN A 127.0.0.1`),
  ];
}

/** Resolves with the first event that matches, failing after `ms`. */
function nextEvent(
  events: { on(l: (e: ResolverEvent) => void): () => void },
  match: (e: ResolverEvent) => boolean,
  ms: number,
): Promise<ResolverEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching event within ${ms} ms`));
    }, ms);
    const off = events.on((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

test('settings: defaults, limits, ${ENV} and the alive codes', () => {
  assert.equal(monitorSettingsFrom({}), undefined, 'no URI: no probing');
  const s = monitorSettingsFrom(
    { monitorUris: 'sip:${TRUNK}\n\n# a comment\nsip:b.example.com', monitorUpCodes: '200, 4xx' },
    (n) => (n === 'TRUNK' ? 'a.example.com' : undefined),
  )!;
  assert.deepEqual(
    [s.uris, s.intervalMs, s.downAfter, s.upAfter, s.timeoutMs],
    [['sip:a.example.com', 'sip:b.example.com'], 10_000, 2, 2, 2000],
  );
  assert.deepEqual([s.upCodes!.fails(200), s.upCodes!.fails(404), s.upCodes!.fails(503)], [true, true, false]);
  for (const bad of [
    { monitorInterval: '0.4' },
    { monitorDownAfter: '1.5' },
    { monitorUpAfter: 0 },
    { monitorTimeout: 'x' },
    { monitorUpCodes: '1xx' },
  ]) {
    assert.throws(
      () => monitorSettingsFrom({ monitorUris: 'sip:a.example.com', ...bad }),
      { code: 'EINVALIDOPTION' },
      JSON.stringify(bad),
    );
  }
  assert.throws(() => monitorSettingsFrom({ monitorUris: 'sip:${NOPE}' }, () => undefined), { code: 'EINVALIDOPTION' });
  assert.throws(() => monitorSettingsFrom({ monitorUris: 'http://x' }), { code: 'EINVALIDURI' });
});

test('real servers at 0.5 s: stop one, it is down in time and never first; start it again, it is up; one event each', async () => {
  const a = await startUdpUas();
  const b = await startUdpUas();
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: pool('mon.test', [a.port, b.port]),
    transports: ['udp'],
  });
  const events: ResolverEvent[] = [];
  l.events.on((e) => {
    if (e.op === 'up' || e.op === 'down') events.push(e);
  });
  const settings = monitorSettingsFrom({ monitorUris: 'sip:mon.test', monitorInterval: 0.5, monitorTimeout: 1 })!;
  const bothUp = Promise.all(
    [a.port, b.port].map((port) => nextEvent(l.events, (e) => e.op === 'up' && e.target?.port === port, 20_000)),
  );
  // Each finished probe of server a, in order: the state must change after exactly downAfter (upAfter) probes in a row.
  const probesOfA: boolean[] = [];
  const m = new Monitor(l, settings, { onProbe: (o) => o.host === 'h0.mon.test' && probesOfA.push(o.alive) });
  /** How many of a's last probes in a row had this result. */
  const run = (alive: boolean): number => probesOfA.length - 1 - probesOfA.lastIndexOf(!alive);
  m.start();
  try {
    await bothUp;
    assert.equal(m.size, 2);
    const down = nextEvent(l.events, (e) => e.op === 'down' && e.target?.port === a.port, 20_000);
    await a.stop();
    await down;
    assert.equal(
      run(false),
      settings.downAfter,
      `down after ${settings.downAfter} failed probes in a row: ${probesOfA.join(',')}`,
    );
    for (let i = 0; i < 20; i++)
      assert.equal((await l.locate('sip:mon.test')).targets[0]!.port, b.port, 'never handed out first');
    const up = nextEvent(l.events, (e) => e.op === 'up' && e.target?.port === a.port, 20_000);
    await a.start();
    await up;
    assert.equal(
      run(true),
      settings.upAfter,
      `up after ${settings.upAfter} answered probes in a row: ${probesOfA.join(',')}`,
    );
    assert.deepEqual(
      events.map((e) => `${e.op}:${e.target!.port === a.port ? 'a' : 'b'}`).sort(),
      ['down:a', 'up:a', 'up:a', 'up:b'],
      'no flapping',
    );
    const health = l.health.list();
    assert.deepEqual(
      health.map((h) => [h.port, h.state, h.host, h.lastCode]),
      [
        [a.port, 'up', 'h0.mon.test', 200],
        [b.port, 'up', 'h1.mon.test', 200],
      ].sort((x, y) => Number(x[0]) - Number(y[0])),
    );
  } finally {
    await m.close();
    l.close();
    await a.stop();
    await b.stop();
  }
});

test('close while probes are in flight: they are aborted, nothing is sent afterwards, no timer or socket is left', async () => {
  const silent = await startSipResponder('silent');
  const baseline = process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap' || r === 'Timeout').length;
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: pool('quiet.test', [silent.udpPort]),
    transports: ['udp'],
  });
  const m = new Monitor(
    l,
    monitorSettingsFrom({ monitorUris: 'sip:quiet.test', monitorInterval: 0.5, monitorTimeout: 30 })!,
  );
  m.start();
  try {
    await silent.received(1);
    await m.close();
    const sent = silent.requests.length;
    assert.equal(m.size, 0);
    l.close();
    const left = process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap' || r === 'Timeout').length;
    assert.ok(
      left <= baseline,
      `handles before ${baseline}, after ${left}: ${process.getActiveResourcesInfo().join(',')}`,
    );
    // a retransmission would have come at T1 (500 ms): the server's count is where it was at close
    assert.equal(silent.requests.length, sent);
  } finally {
    await silent.stop();
  }
});

test('timing (controllable clock): first probes spread over the interval, never two at once per target, the next one an interval later', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: pool('t.test', [5001, 5002, 5003, 5004]),
    transports: ['udp'],
  });
  const calls: Array<{ port: number; at: number }> = [];
  let clock = 0;
  const hang = new Set<number>([5004]);
  // Stands in for the prober: answers 200 at once, or (port 5004) not until the monitor aborts it on close.
  const send = (t: Target, o: ProbeOptions = {}): Promise<ProbeResult> => {
    calls.push({ port: t.port, at: clock });
    if (!hang.has(t.port)) return Promise.resolve({ kind: 'response', status: 200, reason: 'OK', headers: {} });
    return new Promise((_, reject) =>
      o.signal?.addEventListener('abort', () => reject(new SipLocateError('ECANCELLED', 'cancelled'))),
    );
  };
  const randoms = [0, 0.25, 0.5, 0.75];
  let r = 0;
  const m = new Monitor(l, monitorSettingsFrom({ monitorUris: 'sip:t.test', monitorInterval: 1, monitorTimeout: 1 })!, {
    send,
    random: () => randoms[r++ % randoms.length]!,
    now: () => clock,
  });
  const flush = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };
  const advance = async (ms: number): Promise<void> => {
    for (let i = 0; i < ms / 50; i++) {
      clock += 50;
      mock.timers.tick(50);
      await flush();
    }
  };
  try {
    m.start();
    await flush();
    mock.timers.tick(0);
    await flush();
    await advance(850);
    const first = calls.map((c) => c.at);
    assert.equal(calls.length, 4, 'each target once in the first interval');
    assert.deepEqual(new Set(calls.map((c) => c.port)).size, 4);
    assert.ok(Math.max(...first) - Math.min(...first) >= 500, `spread: ${first.join(',')}`);
    await advance(3000);
    assert.equal(calls.filter((c) => c.port === 5004).length, 1, 'a probe in flight is never joined by a second one');
    const p1 = calls.filter((c) => c.port === 5001).map((c) => c.at);
    assert.ok(p1.length >= 3 && p1.length <= 5, `about one per interval: ${p1.join(',')}`);
    for (let i = 1; i < p1.length; i++)
      assert.ok(p1[i]! - p1[i - 1]! >= 850 && p1[i]! - p1[i - 1]! <= 1150, `gap ${p1[i]! - p1[i - 1]!}`);
  } finally {
    await m.close();
    l.close();
    mock.timers.reset();
  }
});

test('probeTargets: the same frozen array while the plan is cached, so a discovery round finds nothing changed without building targets', async () => {
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: pool('same.test', [5001, 5002]),
    transports: ['udp'],
  });
  try {
    const first = await l.probeTargets('sip:same.test');
    const second = await l.probeTargets('sip:same.test');
    assert.equal(second, first);
    assert.ok(Object.isFrozen(first));
    assert.deepEqual(
      first.map((t) => t.port),
      [5001, 5002],
    );
  } finally {
    l.close();
  }
});
