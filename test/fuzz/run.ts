// npm run fuzz [-- --cases N --client N --seed S]: the long fuzz run; prints cases, accepted, rejected, crashes.
import { createSocket } from 'node:dgram';
import * as dnsPacket from 'dns-packet';
import { baseCorpus, fuzzClient, fuzzParsePath } from './fuzz';
import { DNS_SERVER_KINDS, serverAvailable, startDnsServer } from '../servers/dns-servers';

/** Real answers from BIND, NSD and Knot (those installed) to mutate. */
async function captureRealAnswers(): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const questions: Array<[string, dnsPacket.RecordType]> = [
    ['example.test', 'NAPTR'],
    ['_sip._udp.example.test', 'SRV'],
    ['sip1.example.test', 'AAAA'],
    ['alias1.example.test', 'A'],
    ['nonaptr.example.test', 'NAPTR'],
    ['nothere.example.test', 'A'],
  ];
  for (const kind of DNS_SERVER_KINDS.filter(serverAvailable)) {
    const s = await startDnsServer(kind);
    for (const [name, type] of questions) {
      const sock = createSocket('udp4');
      out.push(
        await new Promise<Buffer>((resolve) => {
          sock.on('message', (m) => resolve(m));
          sock.send(
            dnsPacket.encode({
              type: 'query',
              id: 4660,
              flags: dnsPacket.RECURSION_DESIRED,
              questions: [{ name: 'exAmPle.test', type: 'NAPTR' }].length ? [{ name, type }] : [],
              additionals: [
                {
                  type: 'OPT',
                  name: '.',
                  udpPayloadSize: 1232,
                  extendedRcode: 0,
                  ednsVersion: 0,
                  flags: 0,
                  flag_do: false,
                  options: [],
                },
              ],
            }),
            s.port,
            '127.0.0.1',
          );
        }),
      );
      sock.close();
    }
    await s.stop();
  }
  return out;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

void (async () => {
  const cases = arg('cases', 1_000_000);
  const clientCases = arg('client', 20_000);
  const seed = arg('seed', 20261124);
  const captured = await captureRealAnswers();
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const parse = fuzzParsePath(cases, seed, baseCorpus(captured));
  const t1 = performance.now();
  const client = await fuzzClient(clientCases, seed + 1, captured);
  const t2 = performance.now();
  global.gc?.();
  const heap1 = process.memoryUsage().heapUsed;
  const out = {
    parsePath: {
      cases: parse.cases,
      accepted: parse.accepted,
      rejected: parse.rejected,
      crashes: parse.crashes,
      seconds: +((t1 - t0) / 1000).toFixed(1),
    },
    client: {
      cases: client.cases,
      accepted: client.accepted,
      rejected: client.rejected,
      crashes: client.crashes,
      unhandledRejections: client.unhandled,
      seconds: +((t2 - t1) / 1000).toFixed(1),
    },
    realAnswersInCorpus: captured.length,
    heapGrowthMB: +((heap1 - heap0) / 1048576).toFixed(1),
    examples: [...parse.examples, ...client.examples],
  };
  console.log(
    `cases ${parse.cases + client.cases}\naccepted ${parse.accepted + client.accepted}\nrejected ${parse.rejected + client.rejected}\ncrashes ${parse.crashes + client.crashes}`,
  );
  console.log(JSON.stringify(out, null, 2));
  process.exitCode = parse.crashes + client.crashes + client.unhandled === 0 ? 0 : 1;
})();
