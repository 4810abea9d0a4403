// Example 08 ("Monitor a trunk and page on failover"), unchanged, in a real Node-RED process against the demo DNS
// zone and demo SIP endpoints: a failover's events reach the events debug node, the black mark of the busy server
// pages, an operator drain is an event, and GET /metrics serves Prometheus text that a strict parser reads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { parseExposition } from '../metrics/exposition';

type Stoppable = { stop(): Promise<void>; nameserver?: string; address?: string; port?: number };
const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-events.js'));
const FILE = join(__dirname, '..', '..', 'examples', '08 - Monitor a trunk and page on failover.json');

describe('example 08 in a real Node-RED', { skip: built ? false : 'run npm run build first' }, () => {
  let red: NodeRedProcess;
  let dns: Stoppable;
  let endpoints: Record<string, Stoppable & { address: string; port: number }>;
  before(async () => {
    const sip = await import('../../demo/sip-endpoints.mjs');
    const zone = await import('../../demo/dns-server.mjs');
    endpoints = await sip.startDemoEndpoints(0);
    dns = await zone.startZoneServer({ address: '127.0.0.1', port: 0, origin: 'demo.test', records: zone.demoZone('demo.test', endpoints) });
    red = await startNodeRedProcess(JSON.parse(readFileSync(FILE, 'utf8')) as unknown[], { SIP_LOCATE_NAMESERVERS: dns.nameserver! });
  });
  after(async () => {
    await red?.stop();
    await dns?.stop();
    for (const e of Object.values(endpoints ?? {})) await e.stop();
  });

  /** The next `events` debug messages until one with `op` (and `state`, when given; at most 20), in order. */
  async function eventsUntil(op: string, state?: string): Promise<Array<{ op: string; state?: string; target?: { port: number } }>> {
    const seen: Array<{ op: string; state?: string; target?: { port: number } }> = [];
    while (seen.length < 20) {
      const e = (await red.waitDebug('a8c0000000000011')).msg as { op: string; state?: string; target?: { port: number } };
      seen.push(e);
      if (e.op === op && (state === undefined || e.state === state)) return seen;
    }
    throw new Error(`no ${op} event among ${JSON.stringify(seen.map((e) => e.op))}`);
  }

  test('a failover is told as events; the busy server\'s black mark pages; a drain is an event; /metrics parses', async () => {
    const paged = red.waitDebug('a8c0000000000013');
    const answered = red.waitDebug('a8c0000000000007');
    await red.inject('a8c0000000000003');
    const outcome = (await answered).msg as { target: { port: number }; response?: { status: number } };
    assert.equal(outcome.target.port, endpoints.healthy!.port);
    const page = (await paged).msg as { op: string; state: string; target: { port: number }; resolver: string };
    assert.deepEqual([page.op, page.state, page.target.port, page.resolver], ['mark', 'black', endpoints.busy!.port, 'a8c000000000000a']);
    const black = (await eventsUntil('mark', 'black')).at(-1)!;
    assert.equal(black.target?.port, endpoints.busy!.port);

    const res = await fetch(`${red.url}/sip-resolver/a8c000000000000a/targets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transport: 'udp', address: endpoints.healthy!.address, port: endpoints.healthy!.port, state: 'drain', seconds: 60 }) });
    assert.equal(res.status, 200);
    const drain = (await eventsUntil('drain')).at(-1)!;
    assert.equal(drain.target?.port, endpoints.healthy!.port);

    const metrics = await fetch(`${red.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const families = parseExposition(await metrics.text());
    assert.ok((families.get('sip_locate_failovers_total')?.samples[0]?.value ?? 0) >= 2, 'busy and silent were failed over');
    assert.equal(families.get('sip_locate_marks_total')?.samples.find((s) => s.labels.kind === 'black')?.value, 1);
    assert.equal(families.get('sip_locate_targets')?.samples.find((s) => s.labels.state === 'drain')?.value, 1);
  });
});
