// The shared-socket UDP prober that scheduled probing uses: many probes leave from one socket, answers are matched by
// branch and by the peer they come from, a refused port is still found (through a connected socket), and it is
// bounded, cancellable and leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { UdpProbeChannel } from '../../src/probe/udp-channel';
import { SourceAddresses } from '../../src/probe/source-address';
import type { Target } from '../../src/core/types';
import { withAddressing } from '../../src/core/target';
import { answerFor, startSipResponder } from './sip-responder';

/** A UDP server on `address` that hands every datagram to `onRequest`. */
async function server(
  address: string,
  onRequest: (text: string, from: RemoteInfo, socket: Socket) => void,
): Promise<{ port: number; socket: Socket; close(): Promise<void> }> {
  const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
  socket.on('message', (buf, from) => onRequest(buf.toString('latin1'), from, socket));
  socket.bind(0, address);
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    socket,
    close: async () => {
      socket.close();
      await once(socket, 'close');
    },
  };
}

function udp(address: string, port: number): Target {
  return withAddressing({
    host: address,
    address,
    port,
    transport: 'udp',
    family: address.includes(':') ? 6 : 4,
    source: 'address',
    ttl: 0,
  });
}

/** UDP handles and timers of this process. */
function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap' || r === 'Timeout').length;
}

test('100 probes to 20 servers, 20 at a time, leave from one source port, each gets its own 200, with the Via of that socket', async () => {
  const sources = new Set<number>();
  const vias = new Set<string>();
  const servers = await Promise.all(
    Array.from({ length: 20 }, () =>
      server('127.0.0.1', (text, from, socket) => {
        sources.add(from.port);
        vias.add(/^Via: SIP\/2\.0\/UDP ([^;]+);/m.exec(text)?.[1] ?? '');
        socket.send(answerFor(text)!, from.port, from.address);
      }),
    ),
  );
  const channel = new UdpProbeChannel();
  try {
    const results = [];
    for (let round = 0; round < 5; round++)
      results.push(
        ...(await Promise.all(servers.map((s) => channel.probe(udp('127.0.0.1', s.port), { timeoutMs: 5000 })))),
      );
    assert.equal(results.length, 100);
    assert.deepEqual([...new Set(results.map((r) => (r.kind === 'response' ? r.status : r.code)))], [200]);
    assert.equal(sources.size, 1, 'one shared socket');
    assert.deepEqual(
      [...vias],
      [`127.0.0.1:${[...sources][0]}`],
      'Via names the address and port the answers must go to',
    );
    assert.deepEqual(channel.stats, { stray: 0, malformed: 0 });
    assert.equal(channel.size, 0);
  } finally {
    await channel.close();
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('IPv6: a probe to ::1 goes out from ::1 and is answered', async () => {
  const s = await server('::1', (text, from, socket) => socket.send(answerFor(text)!, from.port, from.address));
  const channel = new UdpProbeChannel();
  try {
    const r = await channel.probe(udp('::1', s.port), { timeoutMs: 5000 });
    assert.equal(r.kind === 'response' && r.status, 200);
  } finally {
    await channel.close();
    await s.close();
  }
});

test('an answer from another port, a forged branch and garbage are not taken: counted, and the probe times out', async () => {
  const other = createSocket('udp4');
  other.bind(0, '127.0.0.1');
  await once(other, 'listening');
  const s = await server('127.0.0.1', (text, from, socket) => {
    other.send(answerFor(text)!, from.port, from.address); // the right answer, from the wrong port
    socket.send(answerFor(text.replace(/branch=z9hG4bK[0-9a-f]+/, 'branch=z9hG4bKforged'))!, from.port, from.address);
    socket.send('hello', from.port, from.address);
  });
  const channel = new UdpProbeChannel();
  try {
    const stats = { stray: 0, malformed: 0 };
    const r = await channel.probe(udp('127.0.0.1', s.port), { timeoutMs: 300, t1Ms: 500, stats });
    assert.equal(r.kind === 'failure' && r.code, 'ETIMEOUT');
    assert.deepEqual(
      stats,
      { stray: 1, malformed: 0 },
      'the answer from the wrong port, counted for the probe it names',
    );
    assert.deepEqual(
      channel.stats,
      { stray: 1, malformed: 1 },
      'the forged branch and the garbage, counted for the channel',
    );
  } finally {
    await channel.close();
    other.close();
    await s.close();
  }
});

test('a closed port: the shared socket hears no refusal, so the retransmission goes through a connected socket and is refused; the next probe is connected from the start', async () => {
  const s = await server('127.0.0.1', () => undefined);
  const port = s.port;
  await s.close();
  const channel = new UdpProbeChannel();
  try {
    // One retransmission at 100 ms: the shared socket sends first and hears nothing, the connected one is refused.
    const first = await channel.probe(udp('127.0.0.1', port), { timeoutMs: 3000, t1Ms: 100 });
    assert.equal(first.kind === 'failure' && first.code, 'ECONNREFUSED');
    // No retransmission at all (T1 beyond the timeout): only a first transmission through a connected socket can be refused.
    const second = await channel.probe(udp('127.0.0.1', port), { timeoutMs: 400, t1Ms: 500 });
    assert.equal(second.kind === 'failure' && second.code, 'ECONNREFUSED');
  } finally {
    await channel.close();
  }
  // A peer that was never refused gets only the shared socket: the same probe times out.
  const fresh = new UdpProbeChannel();
  try {
    const r = await fresh.probe(udp('127.0.0.1', port), { timeoutMs: 400, t1Ms: 500 });
    assert.equal(r.kind === 'failure' && r.code, 'ETIMEOUT');
  } finally {
    await fresh.close();
  }
});

test('bounded: probes beyond maxPending are refused with EOVERLOAD; abort and close cancel the rest and leave no socket or timer', async () => {
  const silent = await startSipResponder('silent');
  const before = handles();
  const channel = new UdpProbeChannel(3);
  const stop = new AbortController();
  const target = udp('127.0.0.1', silent.udpPort);
  const aborted = channel.probe(target, { timeoutMs: 30_000, signal: stop.signal });
  const inFlight = [channel.probe(target, { timeoutMs: 30_000 }), channel.probe(target, { timeoutMs: 30_000 })];
  await assert.rejects(channel.probe(target, { timeoutMs: 30_000 }), { code: 'EOVERLOAD' });
  await silent.received(3);
  stop.abort();
  await assert.rejects(aborted, { code: 'ECANCELLED' });
  assert.equal(channel.size, 2);
  await channel.close();
  for (const p of inFlight) await assert.rejects(p, { code: 'ECANCELLED' });
  await assert.rejects(channel.probe(target), { code: 'ECANCELLED' }, 'closed: refused');
  // 'close' is emitted before libuv releases the handle, which it does in the close phase: after the check phase of
  // this loop turn, so two turns.
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(
    handles() <= before,
    `handles before ${before}, after ${handles()}: ${process.getActiveResourcesInfo().join(',')}`,
  );
  await silent.stop();
});

test('a target or option that cannot go into a request is refused before anything is sent', async () => {
  const channel = new UdpProbeChannel();
  try {
    await assert.rejects(channel.probe({ ...udp('127.0.0.1', 5060), host: 'bad host\r\nX: y' }), {
      code: 'EINVALIDMSG',
    });
    await assert.rejects(channel.probe(udp('127.0.0.1', 5060), { requestUri: 'sip:a b' }), { code: 'EINVALIDOPTION' });
    assert.equal(channel.size, 0);
  } finally {
    await channel.close();
  }
});

test('source addresses: learnt once per destination, at most the bound kept', async () => {
  const sources = new SourceAddresses(2);
  assert.equal(await sources.of('127.0.0.1'), '127.0.0.1');
  assert.equal(sources.known('127.0.0.1'), '127.0.0.1');
  assert.equal(await sources.of('::1'), '::1');
  assert.equal(await sources.of('127.0.0.2'), '127.0.0.1');
  assert.equal(sources.size, 2);
  assert.equal(sources.known('127.0.0.1'), undefined, 'the oldest is forgotten first');
});
