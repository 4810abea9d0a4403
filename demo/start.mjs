// npm start: a demo DNS zone and demo SIP endpoints on loopback, and Node-RED with the example flows deployed.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoZone, startZoneServer } from './dns-server.mjs';
import { startDemoEndpoints } from './sip-endpoints.mjs';
import { exampleFlows, startNodeRed } from './node-red.mjs';
import { startDemoRedis } from './redis.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const port = Number(process.env.PORT || 1880);
const dnsPort = Number(process.env.DEMO_DNS_PORT || 15353);
const sipPort = Number(process.env.DEMO_SIP_PORT || 5060);
const redisPort = Number(process.env.DEMO_REDIS_PORT || 16379);

const endpoints = await startDemoEndpoints(sipPort);
const dns = await startZoneServer({ address: '127.0.0.1', port: dnsPort, origin: 'demo.test', records: demoZone('demo.test', endpoints) });
const redis = await startDemoRedis(redisPort);
let red;
let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  console.log('\nsip-locate demo: stopping Node-RED, the demo DNS server and the SIP endpoints...');
  await red?.stop();
  await dns.stop();
  await redis.stop();
  for (const e of Object.values(endpoints)) await e.stop();
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

try {
  red = await startNodeRed({ userDir: join(root, '.demo-data'), port, flows: await exampleFlows(), env: { SIP_LOCATE_NAMESERVERS: dns.nameserver, SIP_LOCATE_REDIS_URL: redis.url } });
} catch (err) {
  console.error(`sip-locate demo: ${err.message}`);
  await shutdown(1);
}
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
  SIP endpoints (UDP+TCP)   healthy ${endpoints.healthy.address}:${endpoints.healthy.port}, healthy2 ${endpoints.healthy2.address}:${endpoints.healthy2.port},
                            busy (503) ${endpoints.busy.address}:${endpoints.busy.port}, silent ${endpoints.silent.address}:${endpoints.silent.port}
  Redis for example 05      ${redis.url}   (SIP_LOCATE_REDIS_URL)${redis.missing ? '  NOT RUNNING: redis-server is not installed, so example 05 shows "store down, memory only"' : ''}

  Press Ctrl-C to stop.
`);
