// A Node-RED restarted during a DNS outage still routes: the last good plan was saved to a localfilesystem context
// store before the restart and is read back after it (serve-stale across restarts, RFC 8767).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { until } from '../support/wait';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));
const skip = skipUnless('bind') || (built ? false : 'run npm run build first');

/** http in -> sip-locate -> http response with the target and msg.sip.stale (errors answer with their code). */
function flows(nameserver: string): unknown[] {
  return [
    { id: 'tab', type: 'tab', label: 'outage' },
    {
      id: 'res',
      type: 'sip-resolver',
      nameservers: nameserver,
      transports: 'udp',
      family: 'ipv4',
      timeoutMs: 300,
      tries: 1,
      store: 'context',
      contextStore: 'file',
    },
    { id: 'in', type: 'http in', z: 'tab', url: '/loc', method: 'post', wires: [['loc']] },
    {
      id: 'loc',
      type: 'sip-locate',
      z: 'tab',
      resolver: 'res',
      uri: 'payload.uri',
      uriType: 'msg',
      wires: [['ok'], ['err']],
    },
    {
      id: 'ok',
      type: 'change',
      z: 'tab',
      rules: [
        {
          t: 'set',
          p: 'payload',
          pt: 'msg',
          to: '{"address": sip.target.address, "port": sip.target.port, "stale": sip.stale}',
          tot: 'jsonata',
        },
      ],
      wires: [['resp']],
    },
    {
      id: 'err',
      type: 'change',
      z: 'tab',
      rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"code": error.code}', tot: 'jsonata' }],
      wires: [['resp']],
    },
    { id: 'resp', type: 'http response', z: 'tab', statusCode: '', headers: {}, wires: [] },
  ];
}

describe('a Node-RED restarted during a DNS outage routes from the plan saved in its context store', { skip }, () => {
  let dns: RunningDnsServer | undefined;
  let dir: string;
  let userDir: string;
  let red: NodeRedProcess | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sip-outage-'));
    userDir = join(dir, 'nr');
    const zone = join(dir, 'out.test.zone');
    writeFileSync(
      zone,
      [
        '$ORIGIN out.test.',
        '$TTL 300',
        '@ IN SOA ns1 hostmaster 1 3600 600 86400 60',
        '  IN NS ns1',
        'ns1 IN A 127.0.0.1',
        '_sip._udp.pbx IN SRV 10 50 5072 a',
        'a IN A 127.0.0.83',
        '',
      ].join('\n'),
    );
    dns = await startDnsServer('bind', { zones: [{ origin: 'out.test', file: zone }] });
  });
  after(async () => {
    await red?.stop();
    await dns?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function post(): Promise<{ address?: string; port?: number; stale?: boolean; code?: string }> {
    const res = await fetch(`${red!.url}/loc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ uri: 'sip:alice@pbx.out.test' }),
      signal: AbortSignal.timeout(10000),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { address?: string; port?: number; stale?: boolean; code?: string };
  }
  /** Waits until the resolver's store has been read (it is read once at start). */
  async function storeUp(): Promise<void> {
    await until(async () => {
      const res = await fetch(`${red!.url}/sip-resolver/res/state`).catch(() => undefined);
      const body = res?.status === 200 ? ((await res.json()) as { store?: { state?: string } }) : undefined;
      return body?.store?.state === 'up';
    }, 'the store comes up');
  }

  test('one locate through BIND; SIGTERM; BIND stopped; Node-RED started again on the same userDir routes to the same target with msg.sip.stale', async () => {
    red = await startNodeRedProcess([], {}, { userDir });
    await red.deploy(flows(dns!.nameserver));
    await storeUp();
    const first = await post();
    assert.deepEqual(first, { address: '127.0.0.83', port: 5072, stale: false });

    await red.stop(); // SIGTERM: the store link flushes on close
    await dns!.stop(); // the outage: nothing listens on the nameserver's port any more
    dns = undefined;
    red = await startNodeRedProcess(undefined, {}, { userDir });
    await storeUp();
    const during = await post();
    assert.deepEqual(during, { address: '127.0.0.83', port: 5072, stale: true });
  });
});
