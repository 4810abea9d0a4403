// npm start: a demo DNS zone and demo SIP endpoints on 127.0.0.1, and Node-RED with the example flows deployed.
// Refuses to start when one of its ports is taken; SIGINT or SIGTERM (from a terminal or forwarded by npm) stops
// every child it started, as does its parent going away.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoZone, startZoneServer } from './dns-server.mjs';
import { DEMO_ENDPOINTS, startDemoEndpoints } from './sip-endpoints.mjs';
import { exampleFlows, startNodeRed } from './node-red.mjs';
import { redisInstalled, startDemoRedis } from './redis.mjs';
import { firstTakenPort, portTakenSentence } from './ports.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function portFrom(env, fallback, span = 1) {
  const raw = process.env[env] || String(fallback);
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port + span - 1 > 65535) {
    console.error(`sip-locate demo: ${env}=${raw} is not a port number (1 to ${65536 - span}).`);
    process.exit(1);
  }
  return port;
}
const port = portFrom('PORT', 1880);
const dnsPort = portFrom('DEMO_DNS_PORT', 15353);
const sipPort = portFrom('DEMO_SIP_PORT', 5060, DEMO_ENDPOINTS.length);
const redisPort = portFrom('DEMO_REDIS_PORT', 16379);

const started = [];
const abort = new AbortController();
let pending;
let stopping = false;

/** Stops everything started so far (a start in progress first settles or aborts) and exits with code. */
async function shutdown(code, message) {
  if (stopping) return;
  stopping = true;
  abort.abort();
  if (message) console.error(message);
  else console.log('\nsip-locate demo: stopping Node-RED, the demo DNS server, the SIP endpoints and Redis...');
  await pending?.catch(() => undefined);
  for (const s of started.reverse()) await s.stop().catch(() => undefined);
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('SIGHUP', () => shutdown(0));
// npm forwards signals to this process (the start script execs it); if the parent disappears without one, stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown(0);
}, 500).unref();

/** Runs one start step; what it starts is stopped on shutdown. A failure ends the demo with `sentence(err)`. */
async function step(start, sentence) {
  pending = start().then((r) => {
    started.push(r);
    return r;
  });
  try {
    const r = await pending;
    if (!stopping) return r;
  } catch (err) {
    if (!stopping) await shutdown(1, sentence(err));
  }
  return new Promise(() => undefined); // shutdown() exits the process
}

const wanted = [
  { port, protocols: ['tcp'], what: 'Node-RED editor', env: 'PORT' },
  { port: dnsPort, protocols: ['udp', 'tcp'], what: 'demo DNS server', env: 'DEMO_DNS_PORT' },
  ...DEMO_ENDPOINTS.map(([name], i) => ({ port: sipPort + i, protocols: ['udp', 'tcp'], what: `demo SIP endpoint "${name}"`, env: 'DEMO_SIP_PORT' })),
  ...(redisInstalled() ? [{ port: redisPort, protocols: ['tcp'], what: 'demo redis-server', env: 'DEMO_REDIS_PORT' }] : []),
];
const taken = await firstTakenPort(wanted);
if (taken) {
  console.error(portTakenSentence(taken));
  process.exit(1);
}

const clash = (what, env) => (err) =>
  err?.code === 'EADDRINUSE'
    ? `sip-locate demo: the ${what} cannot start because its port was taken meanwhile (${err.address}:${err.port}). Stop the program that uses it, or pick other ports with ${env}.`
    : `sip-locate demo: the ${what} cannot start: ${err?.message ?? err}`;
const endpointsGroup = await step(
  async () => {
    const endpoints = await startDemoEndpoints(sipPort);
    return { endpoints, stop: async () => Promise.all(Object.values(endpoints).map((e) => e.stop())) };
  },
  clash('demo SIP endpoints', 'DEMO_SIP_PORT'),
);
const endpoints = endpointsGroup.endpoints;
const dns = await step(() => startZoneServer({ address: '127.0.0.1', port: dnsPort, origin: 'demo.test', records: demoZone('demo.test', endpoints) }), clash('demo DNS server', 'DEMO_DNS_PORT'));
const redis = await step(() => startDemoRedis(redisPort), clash('demo redis-server', 'DEMO_REDIS_PORT'));
const red = await step(
  async () => startNodeRed({ userDir: join(root, '.demo-data'), port, flows: await exampleFlows(), env: { SIP_LOCATE_NAMESERVERS: dns.nameserver, SIP_LOCATE_REDIS_URL: redis.url }, signal: abort.signal }),
  (err) => `sip-locate demo: Node-RED did not start: ${err.message}`,
);

const ep = (name) => `${endpoints[name].address}:${endpoints[name].port}`;
console.log(`
  sip-locate demo is running.

  Open ${red.url} in a browser. Each example is on its own tab (they are reset at every start):
    01 Locate a SIP URI               click an inject, read the Debug sidebar
    02 Failover until one answers     503 -> silent -> healthy, with marks shared between messages
    03 Sticky REGISTER and INVITE     one server for every request until it fails
    04 Dial target                    dial strings for Asterisk, FreeSWITCH and jambonz
    05 Sticky servers through Redis   pins and marks shared between Node-RED instances
    07 Route a phone number (ENUM)    tel: numbers through ENUM to a SIP server, others to a gateway
  Double-click "demo DNS" (a sip-resolver) and use "Try it" to see the NAPTR -> SRV -> A tree.

  Demo DNS zone demo.test   ${dns.nameserver}   (SIP_LOCATE_NAMESERVERS)
  SIP endpoints (UDP+TCP)   healthy ${ep('healthy')}, healthy2 ${ep('healthy2')},
                            busy (503) ${ep('busy')}, silent ${ep('silent')}
  Redis for example 05      ${redis.url}   (SIP_LOCATE_REDIS_URL)${redis.missing ? '  NOT RUNNING: redis-server is not installed, so example 05 shows "store down" and runs from memory' : ''}

  Press Ctrl-C to stop.
`);
