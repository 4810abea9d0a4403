// npm start: a demo DNS zone and demo SIP endpoints on 127.0.0.1, and Node-RED with the example flows deployed.
// Refuses to start when one of its ports is taken; SIGINT or SIGTERM (from a terminal or forwarded by npm) stops
// every child it started, as does its parent going away.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoZone, startZoneServer } from './dns-server.mjs';
import { startDemoEndpoints, startEndpoint } from './sip-endpoints.mjs';
import { createInterface } from 'node:readline';
import { exampleFlows, startNodeRed } from './node-red.mjs';
import { redisInstalled, startDemoRedis } from './redis.mjs';
import { demoPorts, demoWanted, firstTakenPort, portTakenSentence } from './ports.mjs';
import { LAB_SIP_PORT, withLabPort } from '../dist/lab.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { port, dnsPort, sipPort, redisPort } = demoPorts();

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

// npm start checked the ports before the build (check-ports.mjs); check again, the build took a while.
const wanted = demoWanted({ port, dnsPort, sipPort, redisPort }, redisInstalled());
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
const dns = await step(
  () =>
    startZoneServer({
      address: '127.0.0.1',
      port: dnsPort,
      origin: 'demo.test',
      records: demoZone('demo.test', endpoints),
    }),
  clash('demo DNS server', 'DEMO_DNS_PORT'),
);
const redis = await step(() => startDemoRedis(redisPort), clash('demo redis-server', 'DEMO_REDIS_PORT'));
const red = await step(
  // The examples name the demo.test hosts in static records and ask the system's DNS for every other name (so that
  // a URI of your own SIP domain works): SIP_LOCATE_NAMESERVERS stays as you set it, empty when you did not.
  async () =>
    startNodeRed({
      userDir: join(root, '.demo-data'),
      port,
      flows: withLabPort(await exampleFlows(), sipPort),
      env: { SIP_LOCATE_NAMESERVERS: process.env.SIP_LOCATE_NAMESERVERS ?? '', SIP_LOCATE_REDIS_URL: redis.url },
      signal: abort.signal,
    }),
  (err) => `sip-locate demo: Node-RED did not start: ${err.message}`,
);

const ep = (name) => `${endpoints[name].address}:${endpoints[name].port}`;
console.log(`
  sip-locate demo is running.

  Open ${red.url} in a browser. Each example is on its own tab (they are reset at every start); the "i" tab of
  the right-hand sidebar tells more about each, and the Debug tab shows what they send:
    01 Locate a SIP URI               click an inject: the targets of pbx.demo.test in failover order, or an error
    02 Failover until one answers     click the inject: 503 -> silent -> healthy; click again: straight to healthy
    03 Sticky REGISTER and INVITE     click REGISTER, re-REGISTER, INVITE: each uses the same server (msg.sip.sticky)
    04 Dial target                    click the inject: dial strings for Asterisk, FreeSWITCH and jambonz
    05 Sticky servers through Redis   as 03, with the pins in Redis: redis-cli -u ${redis.url} keys 'sip-locate-demo:*'
    06 HTTP lookup for a SIP proxy    curl '${red.url}/route?uri=sip:pbx.demo.test'
    07 Route a phone number (ENUM)    click the inject for +1 202 555 0101 (ENUM) or +49 30 1234567 (the gateway)
    08 Monitor a trunk and page       pages on a transition: type h and Enter here to stop the healthy server;
                                      about 10 s later it is down and "page" shows it in Debug; h again starts
                                      it, and its recovery pages too.   Metrics: curl ${red.url}/metrics
    09 Sticky per caller, two carriers click alice, bob or carol: each caller keeps its own server of carrier B
                                      (carrier A is busy and silent); the same caller always gets the same one
  Try it: double-click a sip-locate node, then the pencil next to its Resolver, and use "Try it" with any URI.

  The examples' resolvers answer the demo.test names from their Static records and ask the system's DNS for every
  other name, so a URI of your own SIP domain works too (set SIP_LOCATE_NAMESERVERS=ip[:port] to use other
  nameservers). The same zone over DNS, to see real queries:
    npx sip-locate --nameserver ${dns.nameserver} --trace sip:pbx.demo.test

  SIP endpoints (UDP+TCP)   healthy ${ep('healthy')}, healthy2 ${ep('healthy2')},
                            busy (503) ${ep('busy')}, silent ${ep('silent')}${sipPort !== LAB_SIP_PORT ? `\n                            (DEMO_SIP_PORT: the deployed examples' static records name these ports)` : ''}
  Redis for example 05      ${redis.url}   (SIP_LOCATE_REDIS_URL)${redis.missing ? '  NOT RUNNING: redis-server is not installed, so example 05 shows "store down" and runs from memory' : ''}
  Without this demo (Node-RED from the palette): cd ~/.node-red && npx sip-locate lab

  Press Ctrl-C to stop.
`);

// h + Enter: stops or starts the healthy endpoint (same port), so that example 08 sees a transition.
if (process.stdin.isTTY) {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    if (line.trim() !== 'h' || stopping) return;
    const healthy = endpoints.healthy;
    if (healthy.stopped) {
      endpoints.healthy = await startEndpoint({ address: healthy.address, port: healthy.port, behaviour: 'ok' });
      console.log(`sip-locate demo: the healthy server ${ep('healthy')} answers again.`);
    } else {
      await healthy.stop();
      endpoints.healthy = { ...healthy, stopped: true, stop: async () => undefined };
      console.log(`sip-locate demo: the healthy server ${ep('healthy')} is stopped (h again starts it).`);
    }
  });
  process.on('exit', () => lines.close());
}
