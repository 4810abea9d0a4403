/**
 * Bench figures for a SIP proxy asking Node-RED (example 06) through Kamailio: proxy.addedMsP50 (a warm sticky request
 * with the HTTP lookup minus the same request with a fixed destination) and proxy.failoverMs (a request whose first
 * target answers 503, reported from failure_route, minus a warm request). OPTIONS are sent from Node over UDP and timed
 * from send to the 200.
 */
import { randomUUID } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { startKamailio } from '../servers/kamailio';
import { LAB_RESOLVER, startKamailioLab } from '../servers/kamailio-lab';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Sends OPTIONS for `ruri` to 127.0.0.1:port and resolves with the ms until its 200. */
function timedOptions(sock: Socket, port: number, ruri: string): Promise<number> {
  const callId = randomUUID();
  const local = sock.address().port;
  const msg = [`OPTIONS ${ruri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK${callId.slice(0, 8)};rport`, 'From: <sip:bench@127.0.0.1>;tag=b1',
    `To: <${ruri}>`, `Call-ID: ${callId}`, 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.off('message', onMessage);
      reject(new Error(`no 200 for ${ruri} within 5 s`));
    }, 5000);
    const onMessage = (data: Buffer): void => {
      const text = data.toString();
      if (!text.includes(callId) || !text.startsWith('SIP/2.0 200')) return;
      const ms = performance.now() - t0;
      clearTimeout(timer);
      sock.off('message', onMessage);
      resolve(ms);
    };
    sock.on('message', onMessage);
    const t0 = performance.now();
    sock.send(msg, port, '127.0.0.1');
  });
}

/** The proxy figures, or why they were skipped. */
export async function benchProxy(runs = 300): Promise<{ addedMsP50: number; failoverMs: number; lookupMsP50: number; fixedMsP50: number; runs: number }> {
  const lab = await startKamailioLab();
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  try {
    const sticky = 'sip:alice@sticky.kam.test';
    for (let i = 0; i < 50; i++) await timedOptions(sock, lab.kamailio.port, sticky);
    const state = (await (await fetch(`${lab.red.adminUrl}/sip-resolver/${LAB_RESOLVER}/state`)).json()) as { pins: Array<{ destination: string; target: { uri: string } }> };
    const pinned = state.pins.find((p) => p.destination.includes('sticky.kam.test'))!.target.uri;
    // The same config with a fixed destination (the pinned server) instead of the lookup.
    const fixedConfig = lab.config.replace('\troute(LOCATE);\n\tif ($rc < 0) {', `\t$du = "${pinned}";\n\tif ($du == $null) {`);
    if (fixedConfig === lab.config) throw new Error('the kamailio.cfg no longer has the LOCATE call the bench replaces');
    const fixed = await startKamailio(fixedConfig, lab.substitutions);
    try {
      for (let i = 0; i < 50; i++) await timedOptions(sock, fixed.port, sticky);
      const withLookup: number[] = [];
      const direct: number[] = [];
      for (let i = 0; i < runs; i++) {
        withLookup.push(await timedOptions(sock, lab.kamailio.port, sticky));
        direct.push(await timedOptions(sock, fixed.port, sticky));
      }
      const failover: number[] = [];
      const warm: number[] = [];
      for (let i = 0; i < Math.min(runs, 100); i++) {
        const reset = await fetch(`${lab.red.adminUrl}/sip-resolver/${LAB_RESOLVER}/reset`, { method: 'POST' });
        await reset.arrayBuffer();
        await timedOptions(sock, lab.kamailio.port, sticky);
        warm.push(await timedOptions(sock, lab.kamailio.port, sticky));
        failover.push(await timedOptions(sock, lab.kamailio.port, 'sip:alice@busy.kam.test'));
      }
      return {
        addedMsP50: r3(median(withLookup) - median(direct)), failoverMs: r3(median(failover) - median(warm)),
        lookupMsP50: r3(median(withLookup)), fixedMsP50: r3(median(direct)), runs,
      };
    } finally {
      await fixed.stop();
    }
  } finally {
    sock.close();
    await lab.stop();
  }
}
