// `sip-locate lab` as a child process of the built command: the demo zone over DNS equals the static records the
// examples carry, the endpoints answer OPTIONS (200, 503 with Retry-After), a taken port is a sentence and exit
// code 1, bad options exit 2, SIGTERM stops it and frees every port.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, freePortBlock } from '../servers/ports';
import { stopChild, waitExit } from '../servers/process';
import { until } from '../support/wait';
import { createLocator } from '../../src/core/locator';
import { connect, type Socket as TcpSocket } from 'node:net';
import { labStaticRecords, LAB_ORIGIN, MAX_TCP_BUFFER, MAX_TCP_CONNECTIONS, startEndpoint } from '../../src/lab';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');
const built = existsSync(CLI);

function lab(args: string[]): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [CLI, 'lab', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return { child, out: () => out };
}

/** Sends one OPTIONS over UDP from a loopback socket and resolves with the first line of the reply. */
function options(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('message', (m) => {
      s.close();
      resolve(m.toString('latin1').split('\r\n')[0]!);
    });
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const local = s.address().port;
      const req = [
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bKlab1`,
        'Max-Forwards: 70',
        `From: <sip:test@127.0.0.1>;tag=t1`,
        `To: <sip:127.0.0.1:${port}>`,
        'Call-ID: lab-test-1',
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      s.send(req, port, '127.0.0.1');
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('sip-locate lab', { skip: built ? false : 'run npm run build first' }, () => {
  const started: ChildProcess[] = [];
  after(async () => {
    for (const c of started) await stopChild(c, 5000);
  });

  test('--help prints the usage; an unknown option or a bad port exits 2 with a sentence', () => {
    const help = spawnSync(process.execPath, [CLI, 'lab', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: sip-locate lab \[--sip-port N\] \[--dns-port N\]/);
    const bad = spawnSync(process.execPath, [CLI, 'lab', '--bogus'], { encoding: 'utf8' });
    assert.deepEqual(
      [bad.status, bad.stderr],
      [2, 'sip-locate lab: unknown option --bogus. Run sip-locate lab --help.\n'],
    );
    const port = spawnSync(process.execPath, [CLI, 'lab', '--sip-port', '65534'], { encoding: 'utf8' });
    assert.deepEqual([port.status, port.stderr], [2, 'sip-locate lab: --sip-port needs a port number (1 to 65532).\n']);
    assert.match(
      spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout,
      /sip-locate lab/,
      'the main usage names the lab',
    );
  });

  test('serves the zone the examples carry, answers OPTIONS, and stops on SIGTERM with every port free', async () => {
    const sipPort = await freePortBlock(4);
    const dnsPort = await freePort();
    const run = lab(['--sip-port', String(sipPort), '--dns-port', String(dnsPort)]);
    started.push(run.child);
    await until(() => run.out().includes('sip-locate lab is running') || run.child.exitCode !== null, {
      what: 'the lab to start',
      ms: 20_000,
    });
    assert.equal(run.child.exitCode, null, run.out());
    assert.match(run.out(), new RegExp(`DNS {7}127\\.0\\.0\\.1:${dnsPort} `));

    // The same targets from the lab's DNS and from the examples' static records (moved to these ports).
    const viaDns = createLocator({ nameservers: [`127.0.0.1:${dnsPort}`], addressLookup: 'dns' });
    const viaStatic = createLocator({
      staticRecords: labStaticRecords(sipPort),
      nameservers: ['127.0.0.1:9'],
      addressLookup: 'dns',
    });
    try {
      for (const uri of [`sip:pbx.${LAB_ORIGIN}`, `sip:registrar.${LAB_ORIGIN}`, `sip:gateway.${LAB_ORIGIN}`]) {
        const a = (await viaDns.locate(uri)).targets.map((t) => `${t.transport} ${t.address}:${t.port}`).sort();
        const b = (await viaStatic.locate(uri)).targets.map((t) => `${t.transport} ${t.address}:${t.port}`).sort();
        assert.deepEqual(a, b, uri);
      }
      assert.deepEqual(
        (await viaDns.locate(`sip:pbx.${LAB_ORIGIN}`)).targets
          .filter((t) => t.transport === 'udp')
          .map((t) => t.port)
          .sort(),
        [sipPort, sipPort + 2, sipPort + 3],
      );
    } finally {
      viaDns.close();
      viaStatic.close();
    }

    assert.equal(await options(sipPort), 'SIP/2.0 200 OK');
    assert.equal(await options(sipPort + 1), 'SIP/2.0 200 OK');
    assert.equal(await options(sipPort + 2), 'SIP/2.0 503 Service Unavailable');

    run.child.kill('SIGTERM');
    await waitExit(run.child);
    assert.equal(run.child.exitCode, 0, run.out());
    assert.match(run.out(), /sip-locate lab: stopped\.\n$/);
    for (const p of [sipPort, sipPort + 1, sipPort + 2, sipPort + 3, dnsPort])
      assert.ok(await udpFree(p), `port ${p} is free again`);
  });

  test('a taken port ends it with a sentence and exit code 1, and the endpoints it started are stopped', async () => {
    const sipPort = await freePortBlock(4);
    const blocker = createSocket('udp4');
    await new Promise<void>((r) => blocker.bind(sipPort + 2, '127.0.0.1', () => r()));
    try {
      const run = lab(['--sip-port', String(sipPort), '--dns-port', '0']);
      started.push(run.child);
      await waitExit(run.child);
      assert.equal(run.child.exitCode, 1, run.out());
      assert.ok(run.out().startsWith(`sip-locate lab: port ${sipPort + 2} on 127.0.0.1 is already in use`), run.out());
      assert.doesNotMatch(run.out(), /\n\s+at /, 'a sentence, not a stack');
      for (const p of [sipPort, sipPort + 1]) assert.ok(await udpFree(p), `port ${p} is free again`);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  test(`an endpoint keeps at most ${MAX_TCP_CONNECTIONS} TCP connections and drops one that sends more than ${MAX_TCP_BUFFER} bytes without a message end`, async () => {
    const ep = await startEndpoint({ address: '127.0.0.1', behaviour: 'ok' });
    const open = (): Promise<TcpSocket> =>
      new Promise((resolve, reject) => {
        const s = connect({ host: '127.0.0.1', port: ep.port }, () => resolve(s));
        s.once('error', reject);
      });
    const closed = (s: TcpSocket): Promise<void> =>
      new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())));
    const sockets: TcpSocket[] = [];
    try {
      for (let i = 0; i < MAX_TCP_CONNECTIONS; i++) sockets.push(await open());
      // The server counts a connection when it accepts it: wait until it has seen all of them.
      await until(() => ep.connections === MAX_TCP_CONNECTIONS, 'the endpoint holds every connection');
      const extra = await open();
      await closed(extra);
      const last = sockets.at(-1)!;
      const reply = new Promise<string>((resolve) =>
        last.once('data', (d: Buffer) => resolve(d.toString('latin1').split('\r\n')[0]!)),
      );
      last.write(
        [
          'OPTIONS sip:127.0.0.1 SIP/2.0',
          'Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKcap',
          'From: <sip:t@127.0.0.1>;tag=1',
          'To: <sip:127.0.0.1>',
          'Call-ID: cap',
          'CSeq: 1 OPTIONS',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
      assert.equal(await reply, 'SIP/2.0 200 OK', 'the connections within the bound are served');
      const flood = sockets[0]!;
      flood.write(Buffer.alloc(MAX_TCP_BUFFER + 1, 'a'));
      await closed(flood);
    } finally {
      for (const s of sockets) s.destroy();
      await ep.stop();
    }
  });
});
