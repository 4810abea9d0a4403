/**
 * The proxy lab for tests and the bench: sipp servers (two healthy, one busy with 503, one silent address), a BIND zone
 * kam.test naming them, a real Node-RED running example 06 behind httpNodeAuth (editor under /admin), and a real Kamailio with
 * test/kamailio/kamailio.cfg asking it. Everything listens on loopback and is stopped by its own PID.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer, type RunningDnsServer } from './dns-servers';
import { startKamailio, type RunningKamailio } from './kamailio';
import { startNodeRedProcess, type NodeRedProcess } from './node-red';
import { freePort } from './ports';
import { startSipp, type RunningSipp } from './sipp';

const root = join(__dirname, '..', '..');
/** The sip-resolver of example 06. */
export const LAB_RESOLVER = 'a6c000000000000a';
const PASSWORD = 'proxy-test-secret';

/** A running lab. */
export interface KamailioLab {
  kamailio: RunningKamailio;
  red: NodeRedProcess;
  /** sipp servers by name: ok1 (127.0.0.101), ok2 (127.0.0.102), busy (127.0.0.103, 503). */
  servers: Map<string, RunningSipp>;
  /** Headers that pass Node-RED's httpNodeAuth. */
  auth: Record<string, string>;
  /** The kamailio.cfg the lab runs, before the lab's substitutions. */
  config: string;
  /** Substitutions that turn the tested config into the lab's. */
  substitutions: Array<[string, string]>;
  stop(): Promise<void>;
}

/** Starts the lab; domains: sticky.kam.test (ok1, ok2 equal), busy.kam.test (busy, then ok1), silent.kam.test (nothing listening, then ok2). */
export async function startKamailioLab(): Promise<KamailioLab> {
  const servers = new Map<string, RunningSipp>();
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const s of stops.reverse()) await s();
  };
  try {
    for (const [name, scenario, address] of [['ok1', 'uas_proxy_200.xml', '127.0.0.101'], ['ok2', 'uas_proxy_200.xml', '127.0.0.102'], ['busy', 'uas_proxy_503.xml', '127.0.0.103']] as const) {
      const s = await startSipp({ scenario, address, transport: 'udp' });
      servers.set(name, s);
      stops.push(() => s.stop());
    }
    const deadPort = await freePort('127.0.0.104');
    const dir = mkdtempSync(join(tmpdir(), 'sip-kamailio-lab-'));
    stops.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const zone = join(dir, 'kam.test.zone');
    const p = (n: string): number => servers.get(n)!.port;
    writeFileSync(zone, [
      '$ORIGIN kam.test.', '$TTL 300', '@ IN SOA ns1 hostmaster 1 3600 600 86400 60', '  IN NS ns1', 'ns1 IN A 127.0.0.1',
      `_sip._udp.sticky IN SRV 10 50 ${p('ok1')} ok1`, `_sip._udp.sticky IN SRV 10 50 ${p('ok2')} ok2`,
      `_sip._udp.busy IN SRV 10 0 ${p('busy')} busy`, `_sip._udp.busy IN SRV 20 0 ${p('ok1')} ok1`,
      `_sip._udp.silent IN SRV 10 0 ${deadPort} dead`, `_sip._udp.silent IN SRV 20 0 ${p('ok2')} ok2`,
      'ok1 IN A 127.0.0.101', 'ok2 IN A 127.0.0.102', 'busy IN A 127.0.0.103', 'dead IN A 127.0.0.104', '',
    ].join('\n'));
    const dns: RunningDnsServer = await startDnsServer('bind', { zones: [{ origin: 'kam.test', file: zone }] });
    stops.push(() => dns.stop());
    const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };
    const example = JSON.parse(readFileSync(join(root, 'examples', '06 - HTTP lookup for a SIP proxy.json'), 'utf8')) as unknown[];
    const red = await startNodeRedProcess(example, {
      SIP_LOCATE_NAMESERVERS: dns.nameserver,
      SIP_LOCATE_HTTP_NODE_AUTH: JSON.stringify({ user: 'kamailio', pass: bcrypt.hashSync(PASSWORD, 4) }),
      // As docs/proxies.md recommends: the editor off '/', so that /route does not pass through its middleware.
      SIP_LOCATE_HTTP_ADMIN_ROOT: '/admin',
    });
    stops.push(() => red.stop());
    const auth = { authorization: `Basic ${Buffer.from(`kamailio:${PASSWORD}`).toString('base64')}` };
    // The http-in route exists once an unknown name answers with the flow's own 404 body.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${red.url}/route?uri=${encodeURIComponent('sip:ready@nothere.kam.test')}`, { headers: auth });
      const body = await res.text();
      if (res.status === 404 && body.includes('ENOTFOUND')) break;
      if (Date.now() > deadline) throw new Error(`/route did not come up: HTTP ${res.status} ${body.slice(0, 200)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const config = readFileSync(join(root, 'test', 'kamailio', 'kamailio.cfg'), 'utf8');
    const substitutions: Array<[string, string]> = [['127.0.0.1:1880', red.url.replace('http://', '')], ['CHANGE-ME', PASSWORD]];
    const kamailio = await startKamailio(config, substitutions);
    stops.push(() => kamailio.stop());
    return { kamailio, red, servers, auth, config, substitutions, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
