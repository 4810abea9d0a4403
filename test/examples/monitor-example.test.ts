// Example 08 ("Monitor a trunk and page on failover") in a real Node-RED with no SIP_LOCATE_* variables, against the
// lab's SIP endpoints (the static records moved to their free ports): nothing pages at start; the healthy server
// going down pages, and so does its recovery; a failover's black mark is an event, not a page; an operator drain is
// an event; GET /metrics serves Prometheus text that a strict parser reads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { freePortBlock } from '../servers/ports';
import { parseExposition } from '../metrics/exposition';
import { until } from '../support/wait';
import { startEndpoint, startLabEndpoints, withLabPort, type Endpoint, type EndpointName } from '../../src/lab';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-events.js'));
const FILE = join(__dirname, '..', '..', 'examples', '08 - Monitor a trunk and page on failover.json');
const EVENTS = 'a8c0000000000011';
const PAGE = 'a8c0000000000013';
/** Probes take monitorInterval (5 s) x 2 to change a state; on a loaded machine allow well beyond. */
const TRANSITION_MS = 60_000;

type Event = { op: string; state?: string; previous?: string; target?: { port: number }; resolver?: string };

describe('example 08 in a real Node-RED', { skip: built ? false : 'run npm run build first' }, () => {
  let red: NodeRedProcess;
  let endpoints: Record<EndpointName, Endpoint>;
  before(async () => {
    endpoints = await startLabEndpoints(await freePortBlock(4));
    const flow = JSON.parse(readFileSync(FILE, 'utf8')) as Array<{ id: string }>;
    red = await startNodeRedProcess(withLabPort(flow, endpoints.healthy.port), {});
  });
  after(async () => {
    await red?.stop();
    for (const e of Object.values(endpoints ?? {})) await e.stop();
  });

  /** The next `events` debug messages until one with `op` for `port` (at most 50), in order. */
  async function eventsUntil(op: string, port?: number, state?: string): Promise<Event[]> {
    const seen: Event[] = [];
    while (seen.length < 50) {
      const e = (await red.waitDebug(EVENTS, TRANSITION_MS)).msg as Event;
      seen.push(e);
      if (e.op === op && (port === undefined || e.target?.port === port) && (state === undefined || e.state === state)) return seen;
    }
    throw new Error(`no ${op} event among ${JSON.stringify(seen.map((e) => e.op))}`);
  }

  test('no page at start; the healthy server going down pages, its recovery pages; marks and drains are events only', async () => {
    const healthy = endpoints.healthy.port;
    await eventsUntil('up', healthy);
    // A failover through the busy and the silent server: a black mark, told as an event.
    const answered = red.waitDebug('a8c0000000000007');
    await red.inject('a8c0000000000003');
    assert.equal(((await answered).msg as { target: { port: number } }).target.port, healthy);
    // The busy server's 503 is told as an event, never a page: a black mark when the call reached it first, or "down"
    // when probing found it first (the one target order then skips it, so the call never reaches it).
    const busyTold = (d: { id: string; msg: unknown }): boolean => {
      const e = d.msg as Event;
      return d.id === EVENTS && e.target?.port === endpoints.busy.port && ((e.op === 'mark' && e.state === 'black') || e.op === 'down');
    };
    await until(() => red.debug.some(busyTold), { what: 'a black mark or a down event for the busy server', ms: TRANSITION_MS });

    const down = red.waitDebug(PAGE, TRANSITION_MS);
    await endpoints.healthy.stop();
    const page = (await down).msg as Event;
    assert.deepEqual([page.op, page.target?.port, page.resolver], ['down', healthy, 'a8c000000000000a']);
    assert.deepEqual(red.debug.filter((d) => d.id === PAGE).map((d) => (d.msg as Event).op), ['down'], 'the first page is the transition, nothing paged at start or for the mark');

    const up = red.waitDebug(PAGE, TRANSITION_MS);
    endpoints.healthy = await startEndpoint({ address: '127.0.0.1', port: healthy, behaviour: 'ok' });
    assert.deepEqual([((await up).msg as Event).op, ((await up).msg as Event).target?.port], ['up', healthy]);

    const res = await fetch(`${red.url}/sip-resolver/a8c000000000000a/targets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ transport: 'udp', address: '127.0.0.1', port: healthy, state: 'drain', seconds: 60 }) });
    assert.equal(res.status, 200);
    const drain = (await eventsUntil('drain')).at(-1)!;
    assert.equal(drain.target?.port, healthy);

    const metrics = await fetch(`${red.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const families = parseExposition(await metrics.text());
    // A call that reached the busy server (its black mark) was failed over at least once; one that probing steered
    // straight to the healthy server was not.
    const reachedBusy = red.debug.some((d) => busyTold(d) && (d.msg as Event).op === 'mark');
    const failovers = families.get('sip_locate_failovers_total')?.samples[0]?.value;
    assert.equal(typeof failovers, 'number', 'sip_locate_failovers_total is exposed');
    assert.ok(failovers! >= (reachedBusy ? 1 : 0), `failovers ${failovers} after a call that ${reachedBusy ? 'reached' : 'skipped'} the busy server`);
    // The black mark is counted when the call reached the busy server; none when probing steered the call past it.
    assert.equal(families.get('sip_locate_marks_total')?.samples.find((s) => s.labels.kind === 'black')?.value ?? 0, reachedBusy ? 1 : 0);
    assert.equal(families.get('sip_locate_targets')?.samples.find((s) => s.labels.state === 'drain')?.value, 1);
    assert.deepEqual(red.debug.filter((d) => d.id === PAGE).map((d) => (d.msg as Event).op), ['down', 'up']);
  });
});
