// Checks, before the demo starts anything, that each loopback port it needs is free (TCP, UDP or both).
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

const HOST = '127.0.0.1';

function tcpBindable(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

// Something answering a connect also counts as taken (a server on the wildcard address may not block a bind on macOS).
function tcpAnswers(port) {
  return new Promise((resolve) => {
    const s = connect({ port, host: HOST });
    const done = (answered) => {
      s.destroy();
      resolve(answered);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function udpBindable(port) {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, HOST, () => s.close(() => resolve(true)));
  });
}

/** The first of [{port, protocols: ['tcp'|'udp'], what, env}] whose port is taken on 127.0.0.1, with the protocol; undefined when all are free. */
export async function firstTakenPort(wanted) {
  for (const w of wanted) {
    for (const protocol of w.protocols) {
      const free =
        protocol === 'udp' ? await udpBindable(w.port) : (await tcpBindable(w.port)) && !(await tcpAnswers(w.port));
      if (!free) return { ...w, protocol };
    }
  }
  return undefined;
}

/** The sentence the demo prints for a taken port. */
export function portTakenSentence(t) {
  return `sip-locate demo: port ${t.port} (${t.protocol.toUpperCase()}) on ${HOST} is already in use, so the ${t.what} cannot start. Stop the program that uses it, or pick other ports, e.g. ${t.env}=${t.port + 100} npm start.`;
}

/** The lab's SIP endpoints in port order (src/lab.ts LAB_ENDPOINTS; here too because this check runs before the build). */
export const DEMO_SIP_NAMES = ['healthy', 'healthy2', 'busy', 'silent'];

/** The demo's ports from the environment (PORT, DEMO_DNS_PORT, DEMO_SIP_PORT, DEMO_REDIS_PORT); exits with a sentence on a bad one. */
export function demoPorts(env = process.env) {
  const portFrom = (name, fallback, span = 1) => {
    const raw = env[name] || String(fallback);
    const port = Number(raw);
    if (!/^\d+$/.test(raw) || port < 1 || port + span - 1 > 65535) {
      console.error(`sip-locate demo: ${name}=${raw} is not a port number (1 to ${65536 - span}).`);
      process.exit(1);
    }
    return port;
  };
  // The SIP and DNS defaults are the lab's (src/lab.ts), which the examples' static records name.
  return {
    port: portFrom('PORT', 1880),
    dnsPort: portFrom('DEMO_DNS_PORT', 15353),
    sipPort: portFrom('DEMO_SIP_PORT', 15060, DEMO_SIP_NAMES.length),
    redisPort: portFrom('DEMO_REDIS_PORT', 16379),
  };
}

/** What the demo listens on, for firstTakenPort. */
export function demoWanted({ port, dnsPort, sipPort, redisPort }, withRedis) {
  return [
    { port, protocols: ['tcp'], what: 'Node-RED editor', env: 'PORT' },
    { port: dnsPort, protocols: ['udp', 'tcp'], what: 'demo DNS server', env: 'DEMO_DNS_PORT' },
    ...DEMO_SIP_NAMES.map((name, i) => ({
      port: sipPort + i,
      protocols: ['udp', 'tcp'],
      what: `demo SIP endpoint "${name}"`,
      env: 'DEMO_SIP_PORT',
    })),
    ...(withRedis ? [{ port: redisPort, protocols: ['tcp'], what: 'demo redis-server', env: 'DEMO_REDIS_PORT' }] : []),
  ];
}
