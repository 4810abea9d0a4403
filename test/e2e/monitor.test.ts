// End to end: a real Node-RED probing two sipp servers found through BIND every 0.5 s. Stopping one makes it down
// in time and sip-locate stops handing it out first; starting it again brings it up, and the pin fails back to it.
// The resolver logs each up/down/failback event once; the state endpoint shows the health.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { skipUnlessSipp, startSipp, type RunningSipp } from '../servers/sipp';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { freePort } from '../servers/ports';
import { until as waitUntil } from '../support/wait';
import type { HealthRecord } from '../../src/core/failover/health';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));
const skip = skipUnless('bind') || skipUnlessSipp() || (built ? false : 'run npm run build first');
const INTERVAL = 0.5;
const TIMEOUT = 1;
const A = '127.0.0.96';
const B = '127.0.0.97';

describe('end to end: health probing in Node-RED', { skip }, () => {
  let dns: RunningDnsServer;
  let red: NodeRedProcess;
  let dir: string;
  let a: RunningSipp | undefined;
  let b: RunningSipp;
  let portA: number;

  before(async () => {
    portA = await freePort(A);
    const portB = await freePort(B);
    a = await startSipp({ scenario: 'uas_options_200.xml', address: A, transport: 'udp', port: portA });
    b = await startSipp({ scenario: 'uas_options_200.xml', address: B, transport: 'udp', port: portB });
    dir = mkdtempSync(join(tmpdir(), 'sip-mon-'));
    const zone = join(dir, 'mon.test.zone');
    writeFileSync(
      zone,
      [
        '$ORIGIN mon.test.',
        '$TTL 300',
        '@ IN SOA ns1 hostmaster 1 3600 600 86400 60',
        '  IN NS ns1',
        'ns1 IN A 127.0.0.1',
        `_sip._udp.trunk IN SRV 10 0 ${portA} a`,
        `_sip._udp.trunk IN SRV 20 0 ${portB} b`,
        `a IN A ${A}`,
        `b IN A ${B}`,
        '',
      ].join('\n'),
    );
    dns = await startDnsServer('bind', { zones: [{ origin: 'mon.test', file: zone }] });
    red = await startNodeRedProcess([], { SIP_LOCATE_LOG_LEVEL: 'info', MON_TRUNK: 'trunk.mon.test' });
    await red.deploy([
      { id: 'montab', type: 'tab', label: 'monitor' },
      {
        id: 'mon-res',
        type: 'sip-resolver',
        nameservers: dns.nameserver,
        transports: 'udp',
        family: 'ipv4',
        sticky: true,
        pinPolicy: 'failback',
        monitorUris: 'sip:${MON_TRUNK}',
        monitorInterval: INTERVAL,
        monitorDownAfter: 2,
        monitorUpAfter: 2,
        monitorTimeout: TIMEOUT,
      },
      { id: 'mon-in', type: 'http in', z: 'montab', url: '/loc', method: 'post', upload: false, wires: [['mon-loc']] },
      {
        id: 'mon-loc',
        type: 'sip-locate',
        z: 'montab',
        resolver: 'mon-res',
        uri: 'payload.uri',
        uriType: 'msg',
        wires: [['mon-sum'], ['mon-sum']],
      },
      {
        id: 'mon-sum',
        type: 'change',
        z: 'montab',
        rules: [
          {
            t: 'set',
            p: 'payload',
            pt: 'msg',
            to: '{"address": sip.target.address, "sticky": sip.sticky, "code": sip.error.code}',
            tot: 'jsonata',
          },
        ],
        wires: [['mon-resp']],
      },
      { id: 'mon-resp', type: 'http response', z: 'montab', statusCode: '', headers: {}, wires: [] },
    ]);
  });

  after(async () => {
    await red?.stop();
    await a?.stop();
    await b?.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function health(): Promise<HealthRecord[]> {
    const res = await fetch(`${red.url}/sip-resolver/mon-res/state`);
    if (res.status !== 200) return [];
    return ((await res.json()) as { health: HealthRecord[] }).health;
  }

  /** Waits until the state endpoint shows `address` in `state`. */
  async function until(address: string, state: string): Promise<void> {
    await waitUntil(
      async () => (await health()).some((h) => h.address === address && h.state === state),
      `${address} ${state}`,
    );
  }

  async function locate(): Promise<{ address?: string; sticky?: boolean; code?: string }> {
    let body: { address?: string } | undefined;
    // The route appears shortly after the deploy answers.
    await waitUntil(async () => {
      const res = await fetch(`${red.url}/loc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ uri: 'sip:trunk.mon.test' }),
      });
      if (res.status === 200) body = (await res.json()) as { address?: string };
      else await res.arrayBuffer();
      return body !== undefined;
    }, '/loc answers');
    return body!;
  }

  const count = (pattern: RegExp): number =>
    red
      .log()
      .split('\n')
      .filter((l) => pattern.test(l)).length;

  test('stop one server: down in time, never first; start it again: up in time, the pin fails back; one event each', async () => {
    await until(A, 'up');
    await until(B, 'up');
    assert.equal((await locate()).address, A, 'the better server is pinned first');
    const shown = (await health()).find((h) => h.address === A)!;
    assert.deepEqual([shown.transport, shown.port, shown.host, shown.lastCode], ['udp', portA, 'a.mon.test', 200]);
    assert.equal(typeof shown.rttMs, 'number');

    await a!.stop();
    a = undefined;
    // How many probes make a server down or up is asserted by count in test/monitor/scheduler.test.ts, not by the clock.
    await until(A, 'down');
    for (let i = 0; i < 10; i++) assert.equal((await locate()).address, B, 'a down server is never handed out first');

    a = await startSipp({ scenario: 'uas_options_200.xml', address: A, transport: 'udp', port: portA });
    await until(A, 'up');
    assert.equal((await locate()).address, A, 'failback: the pin moved back');
    assert.equal((await locate()).address, A);

    const target = `udp ${A.replace(/\./g, '\\.')}:${portA}`;
    assert.equal(count(new RegExp(`${target} is down`)), 1, red.log());
    assert.equal(count(new RegExp(`${target} is up again`)), 2, 'up once at start, once after the restart');
    assert.equal(count(new RegExp(`fails back to ${target}`)), 1);
    assert.equal(count(/udp 127\.0\.0\.97:\d+ is down/), 0);
  });
});
