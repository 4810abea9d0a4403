// End to end: a real Kamailio asks real Node-REDs running example 06 (GET /route) where to send each request, over real
// BIND data, with sipp as the servers and as the caller. Lookups and failure reports run in Kamailio's async workers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnless } from '../servers/dns-servers';
import { skipUnlessSipp } from '../servers/sipp';
import { runSippUac } from '../servers/sipp-uac';
import { rcvbufErrors, sendSip, skipUnlessKamailio, udpDrops, type RunningKamailio } from '../servers/kamailio';
import { EXAMPLE_06, LAB_RESOLVER, startKamailioLab, type KamailioLab } from '../servers/kamailio-lab';
import type { NodeRedProcess } from '../servers/node-red';
import { until } from '../support/wait';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));
const skip =
  skipUnless('bind') || skipUnlessSipp() || skipUnlessKamailio() || (built ? false : 'run npm run build first');
const RESOLVER = LAB_RESOLVER;

interface Routed {
  method: string;
  callId: string;
  address: string;
  /** Who gave the target: nodered, nodered_b or fallback. */
  by: string;
}

describe('end to end: Kamailio + Node-RED (example 06) + BIND + sipp', { skip }, () => {
  let lab: KamailioLab;
  let kamailio: RunningKamailio;
  let auth: Record<string, string>;
  let sock: Socket;
  const red = (): NodeRedProcess => lab.red;
  const proxy = (): string => `127.0.0.1:${kamailio.port}`;

  before(async () => {
    lab = await startKamailioLab();
    ({ kamailio, auth } = lab);
    sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  });

  after(async () => {
    sock?.close();
    await lab?.stop();
  });

  /** The ROUTED lines Kamailio logged since `from` (a log offset). */
  function routedNow(from: number): Routed[] {
    return [...kamailio.logSince(from).matchAll(/ROUTED (\w+) (\S+) sip:([0-9.]+):\d+;transport=udp by (\w+)/g)].map(
      (m) => ({ method: m[1]!, callId: m[2]!, address: m[3]!, by: m[4]! }),
    );
  }
  /** The ROUTED lines Kamailio logged since `from`, once `count` are there. */
  async function routed(from: number, count: number): Promise<Routed[]> {
    await until(() => routedNow(from).length >= count, {
      what: `${count} ROUTED lines in Kamailio's log`,
      ms: 10_000,
    }).catch(() => undefined);
    return routedNow(from);
  }
  /** The failure reports Kamailio sent since `from` (REPORT lines: the query it sent). */
  function reports(from: number): string[] {
    return [...kamailio.logSince(from).matchAll(/REPORT \S+ (\S+)/g)].map((m) => m[1]!);
  }
  type State = {
    marks: Array<{ address: string; mark: string }>;
    pins: Array<{ destination: string; target: { address: string } }>;
  };
  async function state(of: NodeRedProcess = red()): Promise<State> {
    const res = await fetch(`${of.adminUrl}/sip-resolver/${RESOLVER}/state`);
    assert.equal(res.status, 200);
    return (await res.json()) as State;
  }
  const marked = async (address: string): Promise<string[]> =>
    [...(await state()).marks, ...(await state(lab.secondary)).marks]
      .filter((m) => m.address === address)
      .map((m) => m.mark);

  test('OPTIONS and INVITE/ACK/BYE reach a healthy server; sticky holds for 40 requests', async () => {
    const from = kamailio.logLength();
    const options = await runSippUac({
      scenario: 'uac_proxy_options.xml',
      server: proxy(),
      domain: 'sticky.kam.test',
      calls: 40,
      rate: 200,
      limit: 1,
    });
    assert.equal(options.code, 0, `sipp: ${options.stderr}\n${kamailio.log().slice(-2000)}`);
    const calls = await runSippUac({
      scenario: 'uac_proxy_invite.xml',
      server: proxy(),
      domain: 'sticky.kam.test',
      calls: 3,
      limit: 1,
    });
    assert.equal(calls.code, 0, `sipp: ${calls.stderr}\n${kamailio.log().slice(-2000)}`);
    const lines = await routed(from, 43);
    assert.equal(lines.filter((l) => l.method === 'OPTIONS').length, 40);
    assert.equal(
      lines.filter((l) => l.method === 'INVITE').length,
      3,
      'ACK and BYE follow the Record-Route set, without a lookup',
    );
    assert.deepEqual([...new Set(lines.map((l) => l.by))], ['nodered']);
    const used = new Set(lines.map((l) => l.address));
    assert.equal(used.size, 1, `one server for all 43 requests: ${[...used].join(', ')}`);
    assert.ok(['127.0.0.101', '127.0.0.102'].includes([...used][0]!));
    const pin = (await state()).pins.find((x) => x.destination.includes('sticky.kam.test'));
    assert.equal(pin?.target.address, [...used][0]);
  });

  test('a 503 with Retry-After is reported (status and retry_after) and blacklists that server; the INVITE completes on the next', async () => {
    const from = kamailio.logLength();
    const run = await runSippUac({
      scenario: 'uac_proxy_invite.xml',
      server: proxy(),
      domain: 'busy.kam.test',
      calls: 1,
    });
    assert.equal(run.code, 0, `sipp: ${run.stderr}\n${kamailio.log().slice(-2000)}`);
    const lines = await routed(from, 2);
    assert.deepEqual(
      lines.map((l) => [l.method, l.address]),
      [
        ['INVITE', '127.0.0.103'],
        ['INVITE', '127.0.0.101'],
      ],
    );
    assert.equal(lines[0]!.callId, lines[1]!.callId);
    assert.equal(reports(from).length, 1);
    assert.match(reports(from)[0]!, /^&status=503&retry_after=120&failed=udp%3A127\.0\.0\.103%3A\d+&tried=/i);
    assert.deepEqual(
      (await state()).marks.filter((m) => m.address === '127.0.0.103').map((m) => m.mark),
      ['black'],
    );
  });

  test('486 and 603 go to the caller as they are: no HTTP report, no failover, nothing marked', async () => {
    for (const [domain, address] of [
      ['reject486.kam.test', '127.0.0.107'],
      ['reject603.kam.test', '127.0.0.109'],
    ] as const) {
      const from = kamailio.logLength();
      const run = await runSippUac({ scenario: 'uac_proxy_invite_rejected.xml', server: proxy(), domain, calls: 1 });
      assert.equal(run.code, 0, `sipp (${domain}): ${run.stderr}\n${kamailio.log().slice(-2000)}`);
      assert.deepEqual(
        routedNow(from).map((l) => [l.method, l.address]),
        [['INVITE', address]],
      );
      assert.deepEqual(reports(from), [], `no report for ${domain}`);
      assert.deepEqual(await marked(address), []);
    }
  });

  test('a silent server reported as a timeout greylists it and the request reaches the next', async () => {
    const from = kamailio.logLength();
    const run = await runSippUac({
      scenario: 'uac_proxy_options.xml',
      server: proxy(),
      domain: 'silent.kam.test',
      calls: 1,
    });
    assert.equal(run.code, 0, `sipp: ${run.stderr}\n${kamailio.log().slice(-2000)}`);
    const lines = await routed(from, 2);
    assert.deepEqual(
      lines.map((l) => l.address),
      ['127.0.0.104', '127.0.0.102'],
    );
    assert.match(reports(from)[0]!, /^&reason=timeout&failed=/);
    assert.deepEqual(
      (await state()).marks.filter((m) => m.address === '127.0.0.104').map((m) => m.mark),
      ['grey'],
    );
  });

  test('a call ringing 10 s at a healthy server is not cancelled and marks nothing', async () => {
    const from = kamailio.logLength();
    const run = await runSippUac({
      scenario: 'uac_proxy_invite.xml',
      server: proxy(),
      domain: 'ring.kam.test',
      calls: 1,
      timeoutS: 40,
    });
    assert.equal(run.code, 0, `sipp: ${run.stderr}\n${kamailio.log().slice(-2000)}`);
    assert.deepEqual(
      routedNow(from).map((l) => [l.method, l.address]),
      [['INVITE', '127.0.0.108']],
    );
    assert.deepEqual(reports(from), []);
    assert.deepEqual(await marked('127.0.0.108'), []);
  });

  test('a Request-URI naming the proxy itself, an IP literal or a domain not served is refused without a lookup', async () => {
    const from = kamailio.logLength();
    const self = await sendSip(sock, kamailio.port, 'INVITE', `sip:alice@127.0.0.1:${kamailio.port}`);
    assert.deepEqual([self.status, self.reason], [404, 'Not here']);
    const literal = await sendSip(sock, kamailio.port, 'INVITE', 'sip:alice@127.0.0.101:5060');
    assert.deepEqual([literal.status, literal.reason], [403, 'IP address not routed']);
    const v6 = await sendSip(sock, kamailio.port, 'OPTIONS', 'sip:alice@[::1]:5060');
    assert.equal(v6.status, 403);
    const other = await sendSip(sock, kamailio.port, 'OPTIONS', 'sip:alice@example.net');
    assert.deepEqual([other.status, other.reason], [403, 'Domain not routed']);
    assert.deepEqual(routedNow(from), []);
    assert.doesNotMatch(kamailio.logSince(from), /LOCATE/);
  });

  test('GET /metrics (behind the guard) has the lookup latency histogram, one count per lookup', async () => {
    const count = async (): Promise<number> => {
      const res = await fetch(`${red().url}/metrics`, { headers: auth });
      assert.equal(res.status, 200);
      return Number(/^sip_locate_lookup_duration_seconds_count (\d+)$/m.exec(await res.text())?.[1]);
    };
    const before = await count();
    const run = await runSippUac({
      scenario: 'uac_proxy_options.xml',
      server: proxy(),
      domain: 'sticky.kam.test',
      calls: 10,
      rate: 100,
      limit: 1,
    });
    assert.equal(run.code, 0, `sipp: ${run.stderr}`);
    assert.equal((await count()) - before, 10);
    const anonymous = await fetch(`${red().url}/metrics`);
    await anonymous.arrayBuffer();
    assert.equal(anonymous.status, 401);
  });

  test('a domain that does not exist gets 404 with the code (not 503)', async () => {
    const answer = await sendSip(sock, kamailio.port, 'OPTIONS', 'sip:alice@nothere.kam.test');
    assert.deepEqual([answer.status, answer.reason], [404, 'Not Found (ENOTFOUND)']);
  });

  test('the flow guard: a report naming a target outside the destination is refused (ENOTATARGET); a wrong secret, 401; reports are rate-limited', async () => {
    const before = await state();
    const uri = encodeURIComponent('sip:alice@sticky.kam.test');
    const res = await fetch(`${red().url}/route?uri=${uri}&failed=udp:10.9.9.9:5060&status=503&retry_after=600`, {
      headers: auth,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: string }).error, 'ENOTATARGET');
    assert.deepEqual(await state(), before);
    for (const headers of [{}, { authorization: `Basic ${Buffer.from('kamailio:wrong').toString('base64')}` }] as Array<
      Record<string, string>
    >) {
      const anonymous = await fetch(`${red().url}/route?uri=${uri}`, { headers });
      await anonymous.arrayBuffer();
      assert.equal(anonymous.status, 401);
    }
    // The bucket holds 40 reports and refills 20 a second: of 100 sent at once, the first 40 are handled (400 here,
    // the target is not one of the destination's) and, unless handling them took over 3 s, some are refused with 429.
    const codes = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const r = await fetch(`${lab.secondary.url}/route?uri=${uri}&failed=udp:10.9.9.9:5060&status=503`, {
          headers: auth,
        });
        await r.arrayBuffer();
        return r.status;
      }),
    );
    const count = (c: number): number => codes.filter((x) => x === c).length;
    assert.equal(count(400) + count(429), 100, codes.join(','));
    assert.ok(count(400) >= 40 && count(429) >= 1, codes.join(','));
  });

  test('each Kamailio process keeps one connection to Node-RED open from one lookup to the next (keep_connections applied)', async () => {
    const port = Number(new URL(red().url).port);
    const batch = async (): Promise<Map<string, number>> => {
      const run = await runSippUac({
        scenario: 'uac_proxy_options.xml',
        server: proxy(),
        domain: 'sticky.kam.test',
        calls: 20,
        rate: 200,
        limit: 1,
      });
      assert.equal(run.code, 0, `sipp: ${run.stderr}`);
      return connectionsTo(kamailio.pid, port);
    };
    const first = await batch();
    const second = await batch();
    // Without keep_connections every lookup closes its connection: none would be left open.
    assert.ok(first.size >= 1, 'no connection to Node-RED left open after 20 lookups');
    for (const conns of [first, second]) {
      const perProcess = new Map<number, number>();
      for (const pid of conns.values()) perProcess.set(pid, (perProcess.get(pid) ?? 0) + 1);
      assert.ok(
        [...perProcess.values()].every((n) => n === 1),
        `connections per Kamailio process: ${JSON.stringify([...perProcess])}`,
      );
    }
    for (const c of first.keys())
      assert.ok(second.has(c), 'a connection open after the first 20 lookups was closed by the next 20');
  });

  test("a recovered server gets traffic back within example 06's failback settings", async () => {
    const settings = (JSON.parse(readFileSync(EXAMPLE_06, 'utf8')) as Array<Record<string, unknown>>).find(
      (n) => n.id === RESOLVER,
    )!;
    assert.equal(settings.pinPolicy, 'failback');
    const first = await sendSip(sock, kamailio.port, 'OPTIONS', 'sip:alice@recover.kam.test');
    assert.equal(first.status, 200);
    let from = kamailio.logLength();
    await lab.servers.get('recover')!.stop();
    const away = await sendSip(sock, kamailio.port, 'OPTIONS', 'sip:alice@recover.kam.test');
    assert.equal(away.status, 200);
    assert.deepEqual(
      routedNow(from).map((l) => l.address),
      ['127.0.0.106', '127.0.0.102'],
      'the stopped server timed out, the next one answered',
    );
    await lab.restartServer('recover');
    // Up after monitorUpAfter answered probes, monitorInterval apart (plus one interval to line up), then failback.
    const budgetMs =
      (Number(settings.monitorUpAfter) + 1) * Number(settings.monitorInterval) * 1000 +
      Number(settings.monitorTimeout) * 1000;
    from = kamailio.logLength();
    await until(
      async () => {
        const at = kamailio.logLength();
        await sendSip(sock, kamailio.port, 'OPTIONS', 'sip:alice@recover.kam.test');
        return routedNow(at).some((l) => l.address === '127.0.0.106');
      },
      { what: 'an OPTIONS routed to the recovered server', ms: budgetMs * 2 },
    );
    assert.ok(routedNow(from).length >= 1);
  });

  test('Node-RED frozen for 5 s under 50 calls/s: no receive-buffer drops, every call completes (BYE included), the failover Node-RED routes, no server marked', async () => {
    const from = kamailio.logLength();
    const marksBefore = [...(await state()).marks, ...(await state(lab.secondary)).marks].map((m) => m.address).sort();
    const drops = udpDrops(kamailio.port);
    const machineDrops = rcvbufErrors();
    const calls = runSippUac({
      scenario: 'uac_proxy_invite.xml',
      server: proxy(),
      domain: 'sticky.kam.test',
      calls: 450,
      rate: 50,
      limit: 200,
      timeoutS: 60,
    });
    await until(() => routedNow(from).length >= 50, { what: '50 calls routed before the freeze', ms: 20_000 });
    process.kill(red().pid, 'SIGSTOP');
    const frozenAt = routedNow(from).length;
    // The freeze lasts 5 s of the scenario: a stimulus, not a wait for something to happen.
    await new Promise<void>((r) => setTimeout(r, 5000));
    process.kill(red().pid, 'SIGCONT');
    const run = await calls;
    assert.equal(run.code, 0, `sipp: ${run.stderr}\n${kamailio.log().slice(-3000)}`);
    // Kamailio's own socket: the machine-wide RcvbufErrors also counts other programs' drops, so it is only shown.
    assert.equal(
      udpDrops(kamailio.port) - drops,
      0,
      `receive-buffer drops on Kamailio's socket during the freeze (machine-wide RcvbufErrors: +${rcvbufErrors() - machineDrops})`,
    );
    const lines = routedNow(from);
    assert.equal(lines.length, 450);
    assert.ok(
      lines.slice(frozenAt).some((l) => l.by === 'nodered_b'),
      'calls during the freeze were routed by nodered_b',
    );
    assert.deepEqual(reports(from), []);
    const marksAfter = [...(await state()).marks, ...(await state(lab.secondary)).marks].map((m) => m.address).sort();
    assert.deepEqual(marksAfter, marksBefore, 'no server marked');
  });

  test('Node-RED killed: the failover Node-RED routes; both gone: the static fallback; Node-RED back: lookups resume', async () => {
    let from = kamailio.logLength();
    await red().stop();
    assert.equal((await sendSip(sock, kamailio.port, 'OPTIONS', 'sip:alice@sticky.kam.test')).status, 200);
    // Asked through the nodered connection, answered by its failover connection nodered_b: nothing else listens.
    assert.deepEqual(
      routedNow(from).map((l) => l.by),
      ['nodered'],
    );
    assert.match(kamailio.logSince(from), /Trying failover to curl con \(nodered_b\)/);
    assert.doesNotMatch(kamailio.logSince(from), /Node-RED not reached/);
    from = kamailio.logLength();
    await lab.secondary.stop();
    assert.equal((await sendSip(sock, kamailio.port, 'OPTIONS', 'sip:alice@sticky.kam.test')).status, 200);
    assert.deepEqual(
      routedNow(from).map((l) => [l.by, l.address]),
      [['fallback', '127.0.0.105']],
    );
    assert.match(
      kamailio.logSince(from),
      /Node-RED not reached \(nodered and its failover\): connection refused: is it running\? \(curl error 7\)/,
    );
    await lab.restartPrimary();
    from = kamailio.logLength();
    await until(
      async () => {
        const at = kamailio.logLength();
        assert.equal((await sendSip(sock, kamailio.port, 'OPTIONS', 'sip:alice@sticky.kam.test')).status, 200);
        return routedNow(at).some((l) => l.by === 'nodered');
      },
      { what: 'a lookup answered by the restarted Node-RED', ms: 20_000 },
    );
  });
});

/** The established TCP connections to 127.0.0.1:port held by Kamailio (`pid` and its children): socket inode → process. */
function connectionsTo(pid: number, port: number): Map<string, number> {
  const pids = [
    pid,
    ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  ];
  const owner = new Map<string, number>();
  for (const p of pids) {
    for (const fd of readdirSync(`/proc/${p}/fd`)) {
      const link = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${p}/fd/${fd}`));
      if (link) owner.set(link[1]!, p);
    }
  }
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const found = new Map<string, number>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // f[2] the remote address, f[3] the state (01 established), f[9] the socket inode.
    const p = owner.get(f[9] ?? '');
    if (f[2] === remote && f[3] === '01' && p !== undefined) found.set(f[9]!, p);
  }
  return found;
}

/** The target of a symbolic link, or '' when it went away meanwhile. */
function readlinkSafe(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}
