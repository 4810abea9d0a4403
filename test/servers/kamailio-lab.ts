/**
 * The proxy lab for tests and the bench: sipp servers on loopback addresses, a BIND zone kam.test naming them, two real
 * Node-REDs running example 06 (the primary and the failover one; the flow's guard lets 127.0.0.1 in with the shared
 * secret, the editor under /admin), and a real Kamailio with test/kamailio/kamailio.cfg asking them. Everything listens
 * on loopback and is stopped by its own PID.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer, type RunningDnsServer } from './dns-servers';
import { startKamailio, type RunningKamailio } from './kamailio';
import { startNodeRedProcess, type NodeRedProcess } from './node-red';
import { freePort } from './ports';
import { startSipp, type RunningSipp } from './sipp';
import { until } from '../support/wait';

const root = join(__dirname, '..', '..');
/** The sip-resolver of example 06. */
export const LAB_RESOLVER = 'a6c000000000000a';
const PASSWORD = 'proxy-test-secret';
/** Example 06 as shipped. */
export const EXAMPLE_06 = join(root, 'examples', '06 - HTTP lookup for a SIP proxy.json');

/** The sipp servers of the lab: name, scenario, address. */
const SERVERS: Array<[string, string, string]> = [
  ['ok1', 'uas_proxy_200.xml', '127.0.0.101'],
  ['ok2', 'uas_proxy_200.xml', '127.0.0.102'],
  ['busy', 'uas_proxy_503.xml', '127.0.0.103'],
  ['fallback', 'uas_proxy_200.xml', '127.0.0.105'],
  ['recover', 'uas_proxy_200.xml', '127.0.0.106'],
  ['reject486', 'uas_proxy_486.xml', '127.0.0.107'],
  ['ring', 'uas_proxy_ring.xml', '127.0.0.108'],
  ['reject603', 'uas_proxy_603.xml', '127.0.0.109'],
];

/** A running lab. */
export interface KamailioLab {
  kamailio: RunningKamailio;
  /** The Node-RED Kamailio asks first (httpcon nodered). */
  red: NodeRedProcess;
  /** The failover Node-RED (httpcon nodered_b). */
  secondary: NodeRedProcess;
  /** sipp servers by name (see SERVERS); `dead` (127.0.0.104) has nothing listening. */
  servers: Map<string, RunningSipp>;
  /** Headers that pass the flow's guard (the shared secret as the Basic password). */
  auth: Record<string, string>;
  /** The kamailio.cfg the lab runs, before the lab's substitutions. */
  config: string;
  /** Substitutions that turn the tested config into the lab's. */
  substitutions: Array<[string, string]>;
  /** The example 06 flow as the lab deployed it. */
  flow: unknown[];
  /** Stops a sipp server and starts it again on the same address and port. */
  restartServer(name: string): Promise<void>;
  /** Starts the primary Node-RED again on its port, after it was stopped. */
  restartPrimary(): Promise<void>;
  stop(): Promise<void>;
}

/** Example 06 for the lab: BIND's kam.test instead of the demo's static records; the lab's domains monitored. */
export function labFlow(nameserver: string): unknown[] {
  const flow = JSON.parse(readFileSync(EXAMPLE_06, 'utf8')) as Array<Record<string, unknown>>;
  const resolver = flow.find((n) => n.id === LAB_RESOLVER)!;
  resolver.nameservers = nameserver;
  resolver.staticRecords = '';
  resolver.monitorUris = 'sip:recover.kam.test\nsip:sticky.kam.test';
  return flow;
}

/**
 * Starts the lab; domains: sticky.kam.test (ok1, ok2 equal), busy.kam.test (busy, then ok1), silent.kam.test (nothing
 * listening, then ok2), recover.kam.test (recover, then ok2), reject486/reject603.kam.test (a server rejecting with
 * that code, then ok1), ring.kam.test (rings 10 s, then ok2). Kamailio's static fallback is the `fallback` server.
 */
export async function startKamailioLab(): Promise<KamailioLab> {
  const servers = new Map<string, RunningSipp>();
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse()) await s();
  };
  try {
    for (const [name, scenario, address] of SERVERS) {
      const s = await startSipp({ scenario, address, transport: 'udp' });
      servers.set(name, s);
    }
    stops.push(async () => {
      for (const s of servers.values()) await s.stop();
    });
    const deadPort = await freePort('127.0.0.104');
    const dir = mkdtempSync(join(tmpdir(), 'sip-kamailio-lab-'));
    stops.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const zone = join(dir, 'kam.test.zone');
    const p = (n: string): number => servers.get(n)!.port;
    writeFileSync(
      zone,
      [
        '$ORIGIN kam.test.',
        '$TTL 300',
        '@ IN SOA ns1 hostmaster 1 3600 600 86400 60',
        '  IN NS ns1',
        'ns1 IN A 127.0.0.1',
        `_sip._udp.sticky IN SRV 10 50 ${p('ok1')} ok1`,
        `_sip._udp.sticky IN SRV 10 50 ${p('ok2')} ok2`,
        `_sip._udp.busy IN SRV 10 0 ${p('busy')} busy`,
        `_sip._udp.busy IN SRV 20 0 ${p('ok1')} ok1`,
        `_sip._udp.silent IN SRV 10 0 ${deadPort} dead`,
        `_sip._udp.silent IN SRV 20 0 ${p('ok2')} ok2`,
        `_sip._udp.recover IN SRV 10 0 ${p('recover')} recover`,
        `_sip._udp.recover IN SRV 20 0 ${p('ok2')} ok2`,
        `_sip._udp.reject486 IN SRV 10 0 ${p('reject486')} reject486`,
        `_sip._udp.reject486 IN SRV 20 0 ${p('ok1')} ok1`,
        `_sip._udp.reject603 IN SRV 10 0 ${p('reject603')} reject603`,
        `_sip._udp.reject603 IN SRV 20 0 ${p('ok1')} ok1`,
        `_sip._udp.ring IN SRV 10 0 ${p('ring')} ring`,
        `_sip._udp.ring IN SRV 20 0 ${p('ok2')} ok2`,
        ...SERVERS.map(([name, , address]) => `${name} IN A ${address}`),
        'dead IN A 127.0.0.104',
        '',
      ].join('\n'),
    );
    const dns: RunningDnsServer = await startDnsServer('bind', { zones: [{ origin: 'kam.test', file: zone }] });
    stops.push(() => dns.stop());
    const flow = labFlow(dns.nameserver);
    // As docs/proxies.md recommends: no httpNodeAuth (the flow's guard checks the secret), the editor off '/'.
    const env = { SIP_LOCATE_ROUTE_SECRET: PASSWORD, SIP_LOCATE_HTTP_ADMIN_ROOT: '/admin' };
    const auth = { authorization: `Basic ${Buffer.from(`kamailio:${PASSWORD}`).toString('base64')}` };
    const startRed = async (port?: number): Promise<NodeRedProcess> => {
      const red = await startNodeRedProcess(flow, env, { port });
      // The http-in route exists once an unknown name answers with the flow's own 404 body.
      await until(
        async () => {
          const res = await fetch(`${red.url}/route?uri=${encodeURIComponent('sip:ready@nothere.kam.test')}`, {
            headers: auth,
          });
          return res.status === 404 && (await res.text()).includes('ENOTFOUND');
        },
        { what: '/route answering', ms: 15_000 },
      );
      return red;
    };
    const reds = { primary: await startRed(), secondary: await startRed() };
    stops.push(async () => {
      for (const r of [reds.primary, reds.secondary]) {
        // A frozen Node-RED (a failed freeze test) must run again to stop.
        try {
          process.kill(r.pid, 'SIGCONT');
        } catch {
          // already gone
        }
        await r.stop();
      }
    });
    const config = readFileSync(join(root, 'test', 'kamailio', 'kamailio.cfg'), 'utf8');
    const fb = servers.get('fallback')!;
    const substitutions: Array<[string, string]> = [
      ['127.0.0.1:1880', reds.primary.url.replace('http://', '')],
      ['127.0.0.2:1880', reds.secondary.url.replace('http://', '')],
      ['CHANGE-ME', PASSWORD],
      ['example\\.com', 'kam\\.test'],
      ['192.0.2.10:5060', `${fb.address}:${fb.port}`],
    ];
    const kamailio = await startKamailio(config, substitutions);
    stops.push(() => kamailio.stop());
    const lab: KamailioLab = {
      kamailio,
      red: reds.primary,
      secondary: reds.secondary,
      servers,
      auth,
      config,
      substitutions,
      flow,
      stop: stopAll,
      async restartServer(name: string): Promise<void> {
        const [, scenario, address] = SERVERS.find(([n]) => n === name)!;
        const old = servers.get(name)!;
        await old.stop();
        servers.set(name, await startSipp({ scenario, address, transport: 'udp', port: old.port }));
      },
      async restartPrimary(): Promise<void> {
        reds.primary = await startRed(Number(new URL(reds.primary.url).port));
        lab.red = reds.primary;
      },
    };
    return lab;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
