// Demo SIP endpoints on loopback (UDP and TCP on one address:port) that answer OPTIONS:
// 'ok' answers 200, 'busy' answers 503 with Retry-After, 'silent' receives and never answers.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { withFreshPortOnClash } from './ports.mjs';

function respond(request, behaviour, address, port) {
  const head = request.split('\r\n\r\n')[0] ?? '';
  const lines = head.split('\r\n');
  if (!/^[A-Z]+ \S+ SIP\/2\.0$/.test(lines[0] ?? '')) return undefined;
  const pick = (re) => lines.filter((l) => re.test(l));
  const status = behaviour === 'busy' ? '503 Service Unavailable' : '200 OK';
  const to = pick(/^(to|t)\s*:/i).map((l) => (/;tag=/i.test(l) ? l : `${l};tag=demo${port}`));
  return [
    `SIP/2.0 ${status}`,
    ...pick(/^(via|v)\s*:/i),
    ...pick(/^(from|f)\s*:/i),
    ...to,
    ...pick(/^(call-id|i)\s*:/i),
    ...pick(/^cseq\s*:/i),
    `Server: sip-locate demo ${behaviour} ${address}:${port}`,
    ...(behaviour === 'busy' ? ['Retry-After: 30'] : []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** Starts one endpoint; resolves {address, port, behaviour, requests, stop()}. */
export function startEndpoint({ address, port = 0, behaviour }) {
  return withFreshPortOnClash(port, (p) => startEndpointOn({ address, port: p, behaviour }));
}

async function startEndpointOn({ address, port, behaviour }) {
  const state = { requests: 0 };
  const udp = createSocket('udp4');
  udp.on('message', (buf, rinfo) => {
    state.requests++;
    if (behaviour === 'silent') return;
    const out = respond(buf.toString('latin1'), behaviour, address, udp.address().port);
    if (out) udp.send(Buffer.from(out, 'latin1'), rinfo.port, rinfo.address);
  });
  await new Promise((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, address, resolve);
  });
  const bound = udp.address().port;
  const conns = new Set();
  const tcp = createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const req = buf.slice(0, end + 4);
      buf = buf.slice(end + 4);
      state.requests++;
      if (behaviour === 'silent') return;
      const out = respond(req, behaviour, address, bound);
      if (out) sock.write(out, 'latin1');
    });
  });
  await new Promise((resolve, reject) => {
    tcp.once('error', (err) => udp.close(() => reject(err)));
    tcp.listen(bound, address, resolve);
  });
  return {
    address,
    port: bound,
    behaviour,
    get requests() {
      return state.requests;
    },
    async stop() {
      for (const c of conns) c.destroy();
      await new Promise((r) => udp.close(r));
      await new Promise((r) => tcp.close(r));
    },
  };
}

/** The demo endpoints' names and behaviours, in port order (port, port+1, ...). */
export const DEMO_ENDPOINTS = [
  ['healthy', 'ok'],
  ['healthy2', 'ok'],
  ['busy', 'busy'],
  ['silent', 'silent'],
];

/**
 * The four demo endpoints on 127.0.0.1 (which every OS's loopback has): two healthy, one busy, one silent,
 * on ports port..port+3 (or four free ports when port is 0). Stops the ones already started when one fails.
 */
export async function startDemoEndpoints(port = 0) {
  const out = {};
  try {
    for (const [i, [name, behaviour]] of DEMO_ENDPOINTS.entries()) out[name] = await startEndpoint({ address: '127.0.0.1', port: port ? port + i : 0, behaviour });
  } catch (err) {
    for (const e of Object.values(out)) await e.stop();
    throw err;
  }
  return out;
}
