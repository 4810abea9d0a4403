/** The `sip-locate lab` command: starts the lab's SIP endpoints and DNS zone (lab.ts) until SIGINT or SIGTERM. */
import {
  demoZone,
  LAB_ADDRESS,
  LAB_DNS_PORT,
  LAB_ENDPOINTS,
  LAB_ORIGIN,
  LAB_SIP_PORT,
  startLabEndpoints,
  startZoneServer,
  type Endpoint,
  type EndpointName,
  type ZoneServer,
} from './lab';

const LAB_USAGE = `Usage: sip-locate lab [--sip-port N] [--dns-port N]

Starts, on 127.0.0.1 only, the SIP servers and the DNS zone the package's example flows use, until Ctrl-C:
  healthy, healthy2  answer OPTIONS with 200        ports N and N+1 (default ${LAB_SIP_PORT}, ${LAB_SIP_PORT + 1})
  busy               answers 503 with Retry-After   port N+2
  silent             never answers                  port N+3
  DNS for ${LAB_ORIGIN}  (NAPTR, SRV, A)              port ${LAB_DNS_PORT}; --dns-port 0 leaves it out
The examples carry the same zone as static records, so they need no DNS server; the DNS server is for
seeing real queries: sip-locate --nameserver ${LAB_ADDRESS}:${LAB_DNS_PORT} --trace sip:pbx.${LAB_ORIGIN}
`;

/** Reads a port option: a whole number from 0 (lab DNS only: none) or 1 to 65535 - span + 1. */
function portOption(text: string | undefined, flag: string, span: number, zeroAllowed: boolean): number | string {
  const n = Number(text);
  if (text === undefined || !/^\d{1,5}$/.test(text) || (n === 0 && !zeroAllowed) || n + span - 1 > 65535)
    return `${flag} needs a port number (${zeroAllowed ? 0 : 1} to ${65536 - span}).`;
  return n;
}

/** `sip-locate lab [options]`: runs the lab until SIGINT or SIGTERM; resolves with the exit code. */
export async function runLab(
  argv: readonly string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
  err: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  let sipPort = LAB_SIP_PORT;
  let dnsPort = LAB_DNS_PORT;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      out(LAB_USAGE);
      return 0;
    }
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (flag !== '--sip-port' && flag !== '--dns-port') {
      err(`sip-locate lab: unknown option ${a.slice(0, 40)}. Run sip-locate lab --help.\n`);
      return 2;
    }
    const port = portOption(
      inline ?? argv[++i],
      flag,
      flag === '--sip-port' ? LAB_ENDPOINTS.length : 1,
      flag === '--dns-port',
    );
    if (typeof port === 'string') {
      err(`sip-locate lab: ${port}\n`);
      return 2;
    }
    if (flag === '--sip-port') sipPort = port;
    else dnsPort = port;
  }
  const running: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async (): Promise<void> => {
    for (const s of running.splice(0).reverse()) await s.stop().catch(() => undefined);
  };
  let endpoints: Record<EndpointName, Endpoint>;
  let dns: ZoneServer | undefined;
  try {
    endpoints = await startLabEndpoints(sipPort);
    running.push(...Object.values(endpoints));
    if (dnsPort !== 0) {
      dns = await startZoneServer({
        address: LAB_ADDRESS,
        port: dnsPort,
        origin: LAB_ORIGIN,
        records: demoZone(LAB_ORIGIN, endpoints),
      });
      running.push(dns);
    }
  } catch (e) {
    await stopAll();
    const x = e as NodeJS.ErrnoException & { port?: number };
    err(
      x.code === 'EADDRINUSE'
        ? `sip-locate lab: port ${x.port ?? ''} on ${LAB_ADDRESS} is already in use (is the lab or npm start already running?). Stop the program that uses it, or pick other ports with --sip-port and --dns-port (the examples expect ${LAB_SIP_PORT} to ${LAB_SIP_PORT + 3}).\n`
        : `sip-locate lab: cannot start: ${String(x.message ?? e).slice(0, 200)}\n`,
    );
    return 1;
  }
  const at = (e: Endpoint): string => `${e.address}:${e.port}`;
  out(`sip-locate lab is running on ${LAB_ADDRESS} (UDP and TCP). Press Ctrl-C to stop.
  healthy   ${at(endpoints.healthy)}    answers OPTIONS with 200
  healthy2  ${at(endpoints.healthy2)}    answers OPTIONS with 200
  busy      ${at(endpoints.busy)}    answers 503 with Retry-After: 30
  silent    ${at(endpoints.silent)}    never answers
${dns ? `  DNS       ${dns.nameserver}    the ${LAB_ORIGIN} zone: sip-locate --nameserver ${dns.nameserver} --trace sip:pbx.${LAB_ORIGIN}\n` : ''}${sipPort !== LAB_SIP_PORT ? `  The examples expect ports ${LAB_SIP_PORT} to ${LAB_SIP_PORT + 3}: change the port numbers in their resolver's static records to match.\n` : ''}`);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
  await stopAll();
  out('sip-locate lab: stopped.\n');
  return 0;
}
