/** The lab's SIP endpoints: each answers OPTIONS as its behaviour says (200, 503 with Retry-After, or never), UDP and TCP. */
import {
  bindPair,
  LAB_ADDRESS,
  LAB_ENDPOINTS,
  MAX_TCP_BUFFER,
  withFreshPortOnClash,
  type Behaviour,
  type EndpointName,
  type Place,
} from './lab-zone';

/** The answer of a lab endpoint to a SIP request head, or undefined when it does not answer (silent, or not SIP). */
function respond(head: string, behaviour: Behaviour, address: string, port: number): string | undefined {
  const lines = head.split('\r\n');
  if (behaviour === 'silent' || !/^[A-Z]+ \S+ SIP\/2\.0$/.test(lines[0] ?? '')) return undefined;
  const pick = (re: RegExp): string[] => lines.filter((l) => re.test(l));
  const to = pick(/^(to|t)\s*:/i).map((l) => (/;tag=/i.test(l) ? l : `${l};tag=lab${port}`));
  return [
    `SIP/2.0 ${behaviour === 'busy' ? '503 Service Unavailable' : '200 OK'}`,
    ...pick(/^(via|v)\s*:/i),
    ...pick(/^(from|f)\s*:/i),
    ...to,
    ...pick(/^(call-id|i)\s*:/i),
    ...pick(/^cseq\s*:/i),
    `Server: sip-locate lab ${behaviour} ${address}:${port}`,
    ...(behaviour === 'busy' ? ['Retry-After: 30'] : []),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** A running lab SIP endpoint. */
export interface Endpoint extends Place {
  behaviour: Behaviour;
  /** Requests received so far (answered or not). */
  readonly requests: number;
  /** TCP connections open now. */
  readonly connections: number;
  stop(): Promise<void>;
}

/** Starts one SIP endpoint on address:port (port 0 = a free one), UDP and TCP. */
export function startEndpoint(o: { address: string; port?: number; behaviour: Behaviour }): Promise<Endpoint> {
  return withFreshPortOnClash(o.port ?? 0, (p) => startEndpointOn(o.address, p, o.behaviour));
}

async function startEndpointOn(address: string, port: number, behaviour: Behaviour): Promise<Endpoint> {
  let requests = 0;
  let bound = port;
  const pair = await bindPair(
    address,
    port,
    (buf, send) => {
      requests++;
      const out = respond(buf.toString('latin1').split('\r\n\r\n')[0] ?? '', behaviour, address, bound);
      if (out) send(Buffer.from(out, 'latin1'));
    },
    (sock) => {
      let buf = '';
      sock.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        if (buf.length > MAX_TCP_BUFFER) return void sock.destroy();
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const head = buf.slice(0, end);
          buf = buf.slice(end + 4);
          requests++;
          const out = respond(head, behaviour, address, bound);
          if (out) sock.write(out, 'latin1');
        }
      });
    },
  );
  bound = pair.port;
  return {
    address,
    port: bound,
    behaviour,
    get requests() {
      return requests;
    },
    get connections() {
      return pair.connections;
    },
    stop: () => pair.stop(),
  };
}

/**
 * The four lab endpoints on 127.0.0.1 (two healthy, one busy, one silent) on ports port..port+3, or on four free
 * ports when port is 0. Stops the ones already started when one fails.
 */
export async function startLabEndpoints(port = 0): Promise<Record<EndpointName, Endpoint>> {
  const out: Partial<Record<EndpointName, Endpoint>> = {};
  try {
    for (const [i, [name, behaviour]] of LAB_ENDPOINTS.entries())
      out[name] = await startEndpoint({ address: LAB_ADDRESS, port: port ? port + i : 0, behaviour });
  } catch (err) {
    for (const e of Object.values(out)) await e.stop();
    throw err;
  }
  return out as Record<EndpointName, Endpoint>;
}
