// End to end: a real Node-RED process, real BIND and real sipp servers. Flows are deployed through the admin
// API and driven over HTTP: each request is one message, and its HTTP response says where it ended.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { skipUnlessSipp, startSipp, type RunningSipp } from '../servers/sipp';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { freePort } from '../servers/ports';
import { until } from '../support/wait';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));
const skip = skipUnless('bind') || skipUnlessSipp() || (built ? false : 'run npm run build first');

interface Outcome {
  output: 'answered' | 'exhausted' | 'notfound';
  address?: string;
  attempt?: number;
  status?: number;
  code?: string;
  tried?: string[];
}

/** sip-locate -> sip-options -> (fail) sip-target-failed -> sip-options, each end answering the HTTP request. */
function failoverFlow(path: string, resolverId: string, prefix: string): Array<Record<string, unknown>> {
  const id = (s: string): string => `${prefix}${s}`;
  const summary = (output: string): Record<string, unknown> => ({
    id: id(`sum-${output}`),
    type: 'change',
    z: 'e2etab',
    name: output,
    rules: [
      {
        t: 'set',
        p: 'payload',
        pt: 'msg',
        to: `{"output": "${output}", "address": sip.target.address, "attempt": sip.attempt, "status": sip.response.status, "code": sip.error.code, "tried": sip.tried.address}`,
        tot: 'jsonata',
      },
    ],
    wires: [[id('resp')]],
  });
  return [
    { id: id('in'), type: 'http in', z: 'e2etab', url: path, method: 'post', upload: false, wires: [[id('loc')]] },
    {
      id: id('loc'),
      type: 'sip-locate',
      z: 'e2etab',
      resolver: resolverId,
      uri: 'payload.uri',
      uriType: 'msg',
      wires: [[id('opt')], [id('sum-notfound')]],
    },
    {
      id: id('opt'),
      type: 'sip-options',
      z: 'e2etab',
      resolver: resolverId,
      timeout: 1000,
      t1: 200,
      wires: [[id('sum-answered')], [id('fail')]],
    },
    {
      id: id('fail'),
      type: 'sip-target-failed',
      z: 'e2etab',
      resolver: resolverId,
      reason: 'transport',
      wires: [[id('opt')], [id('sum-exhausted')]],
    },
    summary('answered'),
    summary('exhausted'),
    summary('notfound'),
    { id: id('resp'), type: 'http response', z: 'e2etab', statusCode: '', headers: {}, wires: [] },
  ];
}

describe('end to end: Node-RED + BIND + sipp', { skip }, () => {
  const sipp: RunningSipp[] = [];
  const byAddress = new Map<string, RunningSipp[]>();
  let dns: RunningDnsServer;
  let red: NodeRedProcess;
  let dir: string;
  let deadPort: number;

  before(async () => {
    // A UDP and a TCP sipp on one port. A port found free can be taken meanwhile by a parallel test (a socket bound
    // to the wildcard address blocks it on every loopback address), so the pair starts again on a new port.
    const start = async (scenario: string, address: string): Promise<number> => {
      for (let attempt = 1; ; attempt++) {
        const port = await freePort(address);
        const started: RunningSipp[] = [];
        try {
          for (const transport of ['udp', 'tcp'] as const)
            started.push(await startSipp({ scenario, address, transport, port }));
        } catch (err) {
          for (const s of started) await s.stop();
          if (attempt >= 4 || !/errno = 98/.test(String(err))) throw err;
          continue;
        }
        sipp.push(...started);
        byAddress.set(address, [...(byAddress.get(address) ?? []), ...started]);
        return port;
      }
    };
    const ports = {
      ok: await start('uas_options_200.xml', '127.0.0.91'),
      busy: await start('uas_options_503.xml', '127.0.0.92'),
      s1: await start('uas_options_200.xml', '127.0.0.94'),
      s2: await start('uas_options_200.xml', '127.0.0.95'),
    };
    deadPort = await freePort('127.0.0.93');
    dir = mkdtempSync(join(tmpdir(), 'sip-e2e-'));
    const zone = join(dir, 'e2e.test.zone');
    writeFileSync(
      zone,
      [
        '$ORIGIN e2e.test.',
        '$TTL 300',
        '@ IN SOA ns1 hostmaster 1 3600 600 86400 60',
        '  IN NS ns1',
        'ns1 IN A 127.0.0.1',
        `fo IN NAPTR 10 10 "s" "SIP+D2U" "" _sip._udp.fo`,
        `fo IN NAPTR 20 10 "s" "SIP+D2T" "" _sip._tcp.fo`,
        ...['udp', 'tcp'].flatMap((t) => [
          `_sip._${t}.fo IN SRV 10 0 ${deadPort} dead`,
          `_sip._${t}.fo IN SRV 20 0 ${ports.busy} busy`,
          `_sip._${t}.fo IN SRV 30 0 ${ports.ok} ok`,
        ]),
        `_sip._udp.sticky IN SRV 10 50 ${ports.s1} s1`,
        `_sip._udp.sticky IN SRV 10 50 ${ports.s2} s2`,
        'ok IN A 127.0.0.91',
        'busy IN A 127.0.0.92',
        'dead IN A 127.0.0.93',
        's1 IN A 127.0.0.94',
        's2 IN A 127.0.0.95',
        '',
      ].join('\n'),
    );
    dns = await startDnsServer('bind', { zones: [{ origin: 'e2e.test', file: zone }] });
    red = await startNodeRedProcess([], {});
    await red.deploy([
      { id: 'e2etab', type: 'tab', label: 'e2e' },
      {
        id: 'res-plain',
        type: 'sip-resolver',
        nameservers: dns.nameserver,
        transports: 'udp,tcp',
        family: 'ipv4',
        sticky: false,
        greylist: 300,
      },
      {
        id: 'res-sticky',
        type: 'sip-resolver',
        nameservers: dns.nameserver,
        transports: 'udp,tcp',
        family: 'ipv4',
        sticky: true,
        greylist: 300,
      },
      ...failoverFlow('/fo', 'res-plain', 'fo-'),
      ...failoverFlow('/sticky', 'res-sticky', 'st-'),
    ]);
    // A deploy can answer before the new http-in routes exist: wait until both answer (NXDOMAIN: no SIP traffic).
    for (const path of ['/fo', '/sticky']) {
      await until(async () => {
        const res = await fetch(`${red.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ uri: 'sip:ready.nothere.e2e.test' }),
        });
        await res.arrayBuffer();
        return res.status === 200;
      }, `${path} comes up`);
    }
  });

  after(async () => {
    await red?.stop();
    for (const s of sipp) {
      try {
        process.kill(s.pid, 'SIGCONT');
      } catch {
        // already gone
      }
      await s.stop();
    }
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function call(path: string, uri: string): Promise<Outcome> {
    const res = await fetch(`${red.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri }),
      signal: AbortSignal.timeout(20000),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as Outcome;
  }

  test('UDP and TCP: not listening, then 503, then the 200 server; later messages go straight to it', async () => {
    for (const transport of ['udp', 'tcp']) {
      const first = await call('/fo', `sip:fo.e2e.test;transport=${transport}`);
      assert.deepEqual(
        [first.output, first.address, first.attempt, first.status],
        ['answered', '127.0.0.91', 3, 200],
        transport,
      );
      assert.deepEqual(first.tried, ['127.0.0.93', '127.0.0.92', '127.0.0.91']);
      const again = await call('/fo', `sip:fo.e2e.test;transport=${transport}`);
      assert.deepEqual(
        [again.output, again.address, again.attempt],
        ['answered', '127.0.0.91', 1],
        `${transport}: marks shared`,
      );
    }
    const nf = await call('/fo', 'sip:nothere.e2e.test');
    assert.deepEqual([nf.output, nf.code], ['notfound', 'ENOTFOUND']);
  });

  test('50 concurrent messages: every one ends on exactly one output, none lost', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => call('/fo', 'sip:fo.e2e.test;transport=udp')));
    assert.equal(results.length, 50);
    assert.ok(results.every((r) => r.output === 'answered' && r.address === '127.0.0.91'));
    assert.doesNotMatch(red.log(), /headers already sent|Cannot set headers|ERR_HTTP_HEADERS_SENT/);
  });

  test('sticky: every message stays on one server until it stops answering, then all move to the other', async () => {
    const before: string[] = [];
    for (let i = 0; i < 20; i++) before.push((await call('/sticky', `sip:user${i}@sticky.e2e.test`)).address!);
    assert.equal(new Set(before).size, 1, before.join(','));
    const pinned = before[0]!;
    const other = pinned === '127.0.0.94' ? '127.0.0.95' : '127.0.0.94';
    for (const s of byAddress.get(pinned)!) process.kill(s.pid, 'SIGSTOP');
    const afterStop: Outcome[] = [];
    for (let i = 0; i < 10; i++) afterStop.push(await call('/sticky', `sip:user${i}@sticky.e2e.test`));
    assert.deepEqual(
      [afterStop[0]!.address, afterStop[0]!.attempt],
      [other, 2],
      'the first message after the stop fails over once',
    );
    assert.ok(
      afterStop.slice(1).every((o) => o.output === 'answered' && o.address === other && o.attempt === 1),
      JSON.stringify(afterStop),
    );
  });
});
