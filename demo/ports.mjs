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
      const free = protocol === 'udp' ? await udpBindable(w.port) : (await tcpBindable(w.port)) && !(await tcpAnswers(w.port));
      if (!free) return { ...w, protocol };
    }
  }
  return undefined;
}

/** The sentence the demo prints for a taken port. */
export function portTakenSentence(t) {
  return `sip-locate demo: port ${t.port} (${t.protocol.toUpperCase()}) on ${HOST} is already in use, so the ${t.what} cannot start. Stop the program that uses it, or pick other ports, e.g. ${t.env}=${t.port + 100} npm start.`;
}
