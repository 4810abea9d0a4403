// Shared state between two real Node-RED processes through a real redis-server on loopback: a pin made by one is
// used by the other, a failure seen by one moves both, Redis killed mid-run loses no message, and after it returns
// the two converge. Propagation delays are measured and printed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { skipUnlessRedis, startRedis, type RunningRedis } from '../servers/redis';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { until } from '../support/wait';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));
const skip = skipUnless('bind') || skipUnlessRedis() || (built ? false : 'run npm run build first');
const URI = 'sip:alice@pbx.shared.test';

interface State {
  marks: Array<{ address: string; mark: string }>;
  pins: Array<{ destination: string; target: { address: string } }>;
  store: { kind: string; state: string; error?: { code: string } };
}
interface Answer {
  address: string;
  sticky: boolean;
  output: string;
}

/** The same flows on both instances: /loc answers where sip-locate sends; /fail also reports that target failed. */
function flows(nameserver: string, redisUrl: string): unknown[] {
  const answer = (id: string, output: string): Record<string, unknown> => ({
    id,
    type: 'change',
    z: 'tab',
    rules: [
      {
        t: 'set',
        p: 'payload',
        pt: 'msg',
        to: `{"address": sip.target.address, "sticky": sip.sticky, "output": "${output}"}`,
        tot: 'jsonata',
      },
    ],
    wires: [['resp']],
  });
  return [
    { id: 'tab', type: 'tab', label: 'redis store' },
    {
      id: 'res',
      type: 'sip-resolver',
      nameservers: nameserver,
      transports: 'udp',
      family: 'ipv4',
      sticky: true,
      greylist: 600,
      store: 'redis',
      redisUrl,
      redisPrefix: 'e2e-shared',
    },
    { id: 'in-loc', type: 'http in', z: 'tab', url: '/loc', method: 'post', wires: [['loc']] },
    {
      id: 'loc',
      type: 'sip-locate',
      z: 'tab',
      resolver: 'res',
      uri: 'payload.uri',
      uriType: 'msg',
      wires: [['ok'], ['nf']],
    },
    answer('ok', 'located'),
    answer('nf', 'notfound'),
    { id: 'in-fail', type: 'http in', z: 'tab', url: '/fail', method: 'post', wires: [['loc2']] },
    {
      id: 'loc2',
      type: 'sip-locate',
      z: 'tab',
      resolver: 'res',
      uri: 'payload.uri',
      uriType: 'msg',
      wires: [['failed'], ['nf']],
    },
    {
      id: 'failed',
      type: 'sip-target-failed',
      z: 'tab',
      resolver: 'res',
      reason: 'transport',
      wires: [['moved'], ['nf']],
    },
    answer('moved', 'moved'),
    { id: 'resp', type: 'http response', z: 'tab', statusCode: '', headers: {}, wires: [] },
  ];
}

describe('redis state store: two real Node-RED processes and a real redis-server', { skip }, () => {
  let dns: RunningDnsServer;
  let redis: RunningRedis;
  let dir: string;
  let a: NodeRedProcess;
  let b: NodeRedProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sip-redis-e2e-'));
    const zone = join(dir, 'shared.test.zone');
    writeFileSync(
      zone,
      [
        '$ORIGIN shared.test.',
        '$TTL 300',
        '@ IN SOA ns1 hostmaster 1 3600 600 86400 60',
        '  IN NS ns1',
        'ns1 IN A 127.0.0.1',
        '_sip._udp.pbx IN SRV 10 34 5060 a',
        '_sip._udp.pbx IN SRV 10 33 5060 b',
        '_sip._udp.pbx IN SRV 10 33 5060 c',
        'a IN A 127.0.0.71',
        'b IN A 127.0.0.72',
        'c IN A 127.0.0.73',
        '',
      ].join('\n'),
    );
    dns = await startDnsServer('bind', { zones: [{ origin: 'shared.test', file: zone }] });
    redis = await startRedis();
    [a, b] = await Promise.all([startNodeRedProcess([], {}), startNodeRedProcess([], {})]);
    const f = flows(dns.nameserver, redis.url);
    await Promise.all([a.deploy(f), b.deploy(f)]);
    for (const red of [a, b]) {
      await until(async () => {
        const s = await fetch(`${red.url}/sip-resolver/res/state`);
        const body = s.status === 200 ? ((await s.json()) as State) : undefined;
        const r = await fetch(`${red.url}/loc`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"uri":"sip:nothing.shared.test"}',
        });
        await r.arrayBuffer();
        return r.status === 200 && body?.store.state === 'up';
      }, 'the instance answers /loc and its store is up');
    }
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function post(red: NodeRedProcess, path: string): Promise<Answer> {
    const res = await fetch(`${red.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: URI }),
      signal: AbortSignal.timeout(10000),
    });
    assert.equal(res.status, 200, path);
    return (await res.json()) as Answer;
  }
  async function state(red: NodeRedProcess): Promise<State> {
    const res = await fetch(`${red.url}/sip-resolver/res/state`);
    assert.equal(res.status, 200);
    return (await res.json()) as State;
  }
  /** Polls an instance's state until cond holds; resolves with the ms it took. */
  async function waitState(red: NodeRedProcess, cond: (s: State) => boolean, what: string): Promise<number> {
    const t0 = performance.now();
    let last: State | undefined;
    await until(async () => cond((last = await state(red))), { what: `${what} (last state: ${JSON.stringify(last)})` });
    return performance.now() - t0;
  }
  const pinOf = (s: State): string | undefined => s.pins[0]?.target.address;

  test('a pin made on A is used on B; a failure seen on A moves B too', async (t) => {
    const first = await post(a, '/loc');
    assert.equal(first.sticky, true);
    const pinDelay = await waitState(b, (s) => pinOf(s) === first.address, 'B learns the pin');
    const onB = await Promise.all(Array.from({ length: 20 }, () => post(b, '/loc')));
    assert.ok(
      onB.every((x) => x.address === first.address && x.sticky),
      JSON.stringify(onB),
    );

    const moved = await post(a, '/fail');
    assert.equal(moved.output, 'moved');
    assert.notEqual(moved.address, first.address);
    const failDelay = await waitState(
      b,
      (s) => pinOf(s) === moved.address && s.marks.some((m) => m.address === first.address),
      'B learns the failure',
    );
    const after = await Promise.all(Array.from({ length: 20 }, () => post(b, '/loc')));
    assert.ok(
      after.every((x) => x.address === moved.address && x.sticky),
      JSON.stringify(after),
    );
    t.diagnostic(
      `propagation between the two Node-RED instances (measured by polling B's state endpoint): pin ${pinDelay.toFixed(1)} ms, failure ${failDelay.toFixed(1)} ms`,
    );
  });

  test('Redis killed mid-run: no message lost on either instance, status says so, and they converge when it returns', async (t) => {
    const start = pinOf(await state(a))!;
    let sent = 0;
    let answered = 0;
    const wrong: string[] = [];
    const drive = async (red: NodeRedProcess, n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        sent++;
        const r = await post(red, '/loc');
        if (r.output === 'located' && r.address) answered++;
        else wrong.push(JSON.stringify(r));
      }
    };
    const firstHalf = Promise.all([drive(a, 100), drive(b, 100)]);
    await redis.kill();
    await firstHalf;
    await waitState(a, (s) => s.store.state === 'down', 'A reports the store down');
    await waitState(b, (s) => s.store.state === 'down', 'B reports the store down');
    assert.equal((await state(b)).store.error?.code, 'ESTOREDOWN');
    await Promise.all([drive(a, 100), drive(b, 100)]);
    const statusB = b.statuses.filter((s) => s.id === 'loc').map((s) => s.text ?? '');
    assert.ok(
      statusB.some((text) => /store down/.test(text)),
      `B's sip-locate status says the store is down: ${statusB.slice(-3).join(' | ')}`,
    );

    // While Redis is away, A sees the pinned server fail; B cannot know yet.
    const moved = await post(a, '/fail');
    assert.notEqual(moved.address, start);
    assert.equal(pinOf(await state(b)), start);

    const t0 = performance.now();
    await redis.restart();
    await waitState(a, (s) => s.store.state === 'up', 'A reconnects');
    await waitState(b, (s) => s.store.state === 'up', 'B reconnects');
    const agree = (x: State, y: State): boolean =>
      pinOf(x) === pinOf(y) &&
      x.marks
        .map((m) => m.address)
        .sort()
        .join() ===
        y.marks
          .map((m) => m.address)
          .sort()
          .join();
    await until(
      async () => agree(...(await Promise.all([state(a), state(b)]))),
      'both instances agree on the pin and the marks',
    );
    const sb = await state(b);
    const converged = performance.now() - t0;
    assert.equal(pinOf(sb), moved.address, 'both on the server A moved to');
    assert.ok(
      sb.marks.some((m) => m.address === start),
      'B has the mark A made while Redis was down',
    );
    assert.deepEqual([sent, answered, wrong], [400, 400, []], 'every message answered once');
    assert.equal((await post(b, '/loc')).address, moved.address);
    assert.doesNotMatch(a.log() + b.log(), /headers already sent|ERR_HTTP_HEADERS_SENT|Unhandled/);
    t.diagnostic(`Redis restart to convergence (both reconnected and agreeing): ${converged.toFixed(0)} ms`);
  });
});
