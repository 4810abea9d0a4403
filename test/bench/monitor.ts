// Health-probing figures: how fast a stopped server is found down and a restarted one up (interval 0.5 s, down
// after 2, timeout 1 s), whether a locate hands out the dead server after that, and the CPU of probing 1,000 targets.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { createInterface } from 'node:readline';
import { createLocator, type SipLocator } from '../../src/core/locator';
import type { ResolverEvent } from '../../src/core/events';
import { Monitor } from '../../src/monitor/scheduler';
import { monitorSettingsFrom } from '../../src/monitor/settings';
import { startUdpUas } from '../monitor/udp-uas';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function waitFor(l: SipLocator, op: 'up' | 'down', port: number): Promise<void> {
  return new Promise((resolve) => {
    const off = l.events.on((e: ResolverEvent) => {
      if (e.op === op && e.target?.port === port) {
        off();
        resolve();
      }
    });
  });
}

function srvPool(name: string, ports: number[]): string[] {
  return [
    ...ports.map((p, i) => `_sip._udp.${name}. 60 IN SRV ${i < 1 ? 10 : 20} 0 ${p} t${i}.${name}.`),
    ...ports.map((_, i) => `t${i}.${name}. 60 IN A 127.0.0.1`),
  ];
}

/** One stop/start cycle: ms to down, locates that still put the dead server first, ms to up. */
async function cycle(): Promise<{ detectMs: number; toDead: number; recoverMs: number }> {
  const dead = await startUdpUas();
  const other = await startUdpUas();
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: srvPool('bench.test', [dead.port, other.port]),
    transports: ['udp'],
  });
  const m = new Monitor(
    l,
    monitorSettingsFrom({
      monitorUris: 'sip:bench.test',
      monitorInterval: 0.5,
      monitorDownAfter: 2,
      monitorUpAfter: 2,
      monitorTimeout: 1,
    })!,
  );
  const up = waitFor(l, 'up', dead.port);
  m.start();
  await up;
  const down = waitFor(l, 'down', dead.port);
  let t0 = performance.now();
  await dead.stop();
  await down;
  const detectMs = performance.now() - t0;
  let toDead = 0;
  for (let i = 0; i < 100; i++) if ((await l.locate('sip:bench.test')).targets[0]!.port === dead.port) toDead++;
  const back = waitFor(l, 'up', dead.port);
  await dead.start();
  t0 = performance.now();
  await back;
  const recoverMs = performance.now() - t0;
  await m.close();
  l.close();
  await dead.stop();
  await other.stop();
  return { detectMs, toDead, recoverMs };
}

/** 1,000 UDP SIP servers in a child process (so their CPU is not counted); resolves with their ports and a stop. */
async function manyServers(n: number): Promise<{ ports: number[]; stop(): void }> {
  const code = `
const dgram = require('node:dgram');
const ports = []; let ready = 0;
for (let i = 0; i < ${n}; i++) {
  const s = dgram.createSocket('udp4');
  s.on('message', (b, r) => {
    const copy = b.toString('latin1').split('\\r\\n').filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
    s.send(['SIP/2.0 200 OK', ...copy, 'Content-Length: 0', '', ''].join('\\r\\n'), r.port, r.address);
  });
  s.bind(0, '127.0.0.1', () => { ports[i] = s.address().port; if (++ready === ${n}) console.log(JSON.stringify(ports)); });
}`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  return { ports: JSON.parse(line) as number[], stop: () => child.kill() };
}

/** CPU share of one core spent probing 1,000 targets every 10 s, in percent, over 60 s after 20 s of warm-up (20 URIs, each an SRV RRset of 50 records in NSD; 64 is the most one RRset gives). */
async function cpuPer1k(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sip-bench-mon-'));
  const zone = join(dir, 'many.test.zone');
  const servers = await manyServers(1000);
  writeFileSync(
    zone,
    [
      '$ORIGIN many.test.',
      '$TTL 300',
      '@ IN SOA ns1 h 1 3600 600 86400 60',
      ' IN NS ns1',
      'ns1 IN A 127.0.0.1',
      't IN A 127.0.0.1',
      ...servers.ports.map((p, i) => `_sip._udp.m${i % 20} IN SRV 10 10 ${p} t`),
      '',
    ].join('\n'),
  );
  // The port NSD is given can be one a server took meanwhile: try another.
  let dns: RunningDnsServer | undefined;
  for (let attempt = 1; !dns; attempt++) {
    try {
      dns = await startDnsServer('nsd', { zones: [{ origin: 'many.test', file: zone }] });
    } catch (err) {
      if (attempt >= 3) {
        servers.stop();
        throw err;
      }
    }
  }
  const l = createLocator({ nameservers: [dns.nameserver], transports: ['udp'], maxTargets: 1024 });
  const m = new Monitor(
    l,
    monitorSettingsFrom({
      monitorUris: Array.from({ length: 20 }, (_, i) => `sip:m${i}.many.test`).join('\n'),
      monitorInterval: 10,
      monitorTimeout: 2,
    })!,
    {
      onProblem: (uri, err) => process.stderr.write(`monitor: ${uri}: ${err.code} ${err.message}\n`),
    },
  );
  try {
    m.start();
    // Two rounds to warm up: the first spreads the targets over the interval, and V8 optimises the probe path only
    // after some thousand probes. Then six rounds are measured: shorter windows vary by ±50 % with when V8's
    // compiler and collector happen to run.
    await new Promise((r) => setTimeout(r, 20_000));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 60_000));
    const used = process.cpuUsage(c0);
    const wall = performance.now() - t0;
    const up = l.health.list().filter((h) => h.state === 'up').length;
    if (up !== 1000)
      throw new Error(
        `only ${up} of 1000 targets are up: ${JSON.stringify(
          l.health
            .list()
            .filter((h) => h.state !== 'up')
            .slice(0, 3),
        )}, ${l.health.size} known, ${m.size} probed`,
      );
    return ((used.user + used.system) / 1000 / wall) * 100;
  } finally {
    await m.close();
    l.close();
    servers.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** monitor.detectMs, monitor.requestsToDeadAfterDetect, monitor.recoverMs (medians of 5 cycles), monitor.cpuPer1kTargets. */
export async function monitorFigures(): Promise<Record<string, number>> {
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(await cycle());
  return {
    detectMs: Math.round(median(runs.map((r) => r.detectMs))),
    requestsToDeadAfterDetect: runs.reduce((s, r) => s + r.toDead, 0),
    recoverMs: Math.round(median(runs.map((r) => r.recoverMs))),
    cpuPer1kTargets: Math.round((await cpuPer1k()) * 100) / 100,
  };
}
