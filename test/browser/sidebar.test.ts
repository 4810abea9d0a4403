// The "SIP" sidebar in Debian's Chromium against a real Node-RED running the demo's flows: it lists the resolvers,
// a target turns grey and back LIVE (comms, no reload) when a demo SIP endpoint stops and starts again, and a
// read-only user sees it with the buttons disabled. The README's picture is made by npm run screenshots.
import { after, before, describe, test } from 'node:test';
import { freePortBlock } from '../servers/ports';
import { withLabPort } from '../../src/lab';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium } from './chromium';
import { editorWithSidebar, openSidebar } from './sidebar-page';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';
import { startRedis, type RunningRedis } from '../servers/redis';

const root = join(__dirname, '..', '..');
const shots = join(root, 'test-results', 'browser');

type Endpoint = { address: string; port: number; stop(): Promise<void> };

/** A tab like example 02 on its own resolver: locate one endpoint, probe it with OPTIONS, report a failure. */
function liveFlow(nameserver: string, ep: Endpoint): unknown[] {
  const z = 'sbt0000000000001';
  return [
    { id: z, type: 'tab', label: 'sidebar live check' },
    {
      id: 'sbr0000000000001',
      type: 'sip-resolver',
      name: 'live check',
      nameservers: nameserver,
      transports: 'udp',
      family: 'ipv4',
      greylist: 300,
    },
    {
      id: 'sbi0000000000001',
      type: 'inject',
      z,
      payload: `sip:healthy.demo.test:${ep.port}`,
      payloadType: 'str',
      x: 120,
      y: 80,
      wires: [['sbl0000000000001']],
    },
    {
      id: 'sbl0000000000001',
      type: 'sip-locate',
      z,
      resolver: 'sbr0000000000001',
      x: 300,
      y: 80,
      wires: [['sbo0000000000001'], []],
    },
    {
      id: 'sbo0000000000001',
      type: 'sip-options',
      z,
      resolver: 'sbr0000000000001',
      timeout: 1500,
      x: 480,
      y: 80,
      wires: [[], ['sbf0000000000001']],
    },
    {
      id: 'sbf0000000000001',
      type: 'sip-target-failed',
      z,
      resolver: 'sbr0000000000001',
      x: 660,
      y: 80,
      wires: [[], []],
    },
  ];
}

describe('the SIP sidebar in Chromium', { skip: browserSkipReason('sip-sidebar.js') }, () => {
  let red: NodeRedProcess;
  let browser: Browser;
  let page: Page;
  let redis: RunningRedis;
  let dns: { nameserver: string; stop(): Promise<void> };
  let endpoints: Record<string, Endpoint>;
  let sip: { startEndpoint(o: { address: string; port: number; behaviour: string }): Promise<Endpoint> };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    sip = (await import('../../demo/sip-endpoints.mjs')) as never;
    const demo = await import('../../demo/node-red.mjs');
    const zone = await import('../../demo/dns-server.mjs');
    endpoints = await (
      sip as unknown as { startDemoEndpoints(p: number): Promise<Record<string, Endpoint>> }
    ).startDemoEndpoints(await freePortBlock(4));
    dns = await zone.startZoneServer({
      address: '127.0.0.1',
      port: 0,
      origin: 'demo.test',
      records: zone.demoZone('demo.test', endpoints),
    });
    redis = await startRedis();
    const flows = [
      ...withLabPort((await demo.exampleFlows()) as object[], endpoints.healthy!.port),
      ...liveFlow(dns.nameserver, endpoints.healthy2!),
    ];
    red = await startNodeRedProcess(flows, { SIP_LOCATE_NAMESERVERS: dns.nameserver, SIP_LOCATE_REDIS_URL: redis.url });
    browser = await launchChromium();
    page = await editorWithSidebar(browser, red.url);
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await dns?.stop();
    await redis?.stop();
    for (const e of Object.values(endpoints ?? {})) await e.stop().catch(() => undefined);
  });

  test('lists every deployed resolver of the demo with its nameserver and store', async () => {
    const names = await page.locator('.sip-sb-resolver .sip-sb-name').allInnerTexts();
    assert.deepEqual(names, [
      'demo.test',
      'demo.test (sticky, Redis)',
      'demo.test (sticky)',
      'demo.test carriers',
      'demo.test with ENUM',
      'live check',
      'monitored trunk',
      'proxy lookups',
    ]);
    const demoDns = page.locator('.sip-sb-resolver[data-resolver="a1c0000000000009"]');
    assert.match(await demoDns.innerText(), new RegExp(`${dns.nameserver.replace(/[.]/g, '\\.')}[^\\n]* ok`));
    assert.match(
      await page.locator('.sip-sb-resolver[data-resolver="a7c0000000000009"]').innerText(),
      /Redis · (up|connecting)/,
    );
  });

  test('example 02 fills the sidebar: pbx.demo.test with busy black, silent grey, healthy normal in that failover order', async () => {
    await red.inject('a2c0000000000003');
    const dest = page.locator(
      '.sip-sb-resolver[data-resolver="a1c0000000000009"] .sip-sb-dest[data-destination="sip:pbx.demo.test"]',
    );
    await dest.locator('[data-badge="grey"]').waitFor({ timeout: 20000 });
    await dest.locator('[data-badge="black"]').waitFor({ timeout: 20000 });
    const rows = await dest.locator('.sip-sb-target').evaluateAll((els) =>
      els.map((e) => [
        e.getAttribute('data-target'),
        Array.from(e.querySelectorAll('[data-badge]'))
          .map((b) => b.getAttribute('data-badge'))
          .join(','),
      ]),
    );
    const port = (n: string): number => endpoints[n]!.port;
    assert.deepEqual(rows.slice(0, 3), [
      [`udp:127.0.0.1:${port('healthy')}`, ''],
      [`udp:127.0.0.1:${port('silent')}`, 'grey'],
      [`udp:127.0.0.1:${port('busy')}`, 'black'],
    ]);
    await red.inject('a3c0000000000003');
    await page
      .locator('.sip-sb-resolver[data-resolver="a3c0000000000009"] [data-badge="pinned"]')
      .waitFor({ timeout: 15000 });
    assert.match(
      await page.locator('.sip-sb-resolver[data-resolver="a3c0000000000009"] [data-badge="pinned"]').innerText(),
      /pinned · (1 h 59 min|2 h 0 min)/,
    );
    await page.locator('#red-ui-sidebar').screenshot({ path: join(shots, 'sidebar.png') });
  });

  test('a target turns grey when its SIP endpoint stops and back to normal when it answers again, without a reload', async () => {
    const ep = endpoints.healthy2!;
    const row = page.locator(
      `.sip-sb-resolver[data-resolver="sbr0000000000001"] .sip-sb-target[data-target="udp:127.0.0.1:${ep.port}"]`,
    );
    await red.inject('sbi0000000000001');
    await row.and(page.locator('.sip-sb-normal')).waitFor({ timeout: 15000 });
    const loads = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    await ep.stop();
    await red.inject('sbi0000000000001');
    await row.locator('[data-badge="grey"]').waitFor({ timeout: 15000 });
    assert.equal(await row.evaluate((e) => e.classList.contains('sip-sb-normal')), false);
    await page.screenshot({ path: join(shots, 'sidebar-grey.png') });
    endpoints.healthy2 = await sip.startEndpoint({ address: '127.0.0.1', port: ep.port, behaviour: 'ok' });
    await red.inject('sbi0000000000001');
    await row.and(page.locator('.sip-sb-normal')).waitFor({ timeout: 15000 });
    assert.equal(await row.locator('[data-badge="grey"]').count(), 0);
    assert.equal(
      await page.evaluate(() => performance.getEntriesByType('navigation').length),
      loads,
      'the page was not reloaded',
    );
    assert.equal(await page.locator('.sip-sb-reset').first().isDisabled(), false, 'an admin may use the buttons');
  });

  test("Try it opens the resolver's dialog with its Try it field", async () => {
    await page.locator('.sip-sb-resolver[data-resolver="sbr0000000000001"] .sip-sb-try').click();
    await page.locator('#node-config-sip-try-uri').waitFor({ timeout: 10000 });
    assert.equal(await page.locator('#node-config-input-name').inputValue(), 'live check');
    await page.locator('#node-config-dialog-cancel').click();
    await page.locator('#red-ui-header-shade').waitFor({ state: 'hidden' });
  });
});

describe('the SIP sidebar for a read-only user', { skip: browserSkipReason('sip-sidebar.js') }, () => {
  let red: NodeRedProcess;
  let browser: Browser;

  before(async () => {
    const bcrypt = require('bcryptjs') as { hashSync(s: string, rounds: number): string };
    const hash = bcrypt.hashSync('secret', 4);
    red = await startNodeRedProcess(
      [
        { id: 'tab1', type: 'tab', label: 't' },
        {
          id: 'ro00000000000001',
          type: 'sip-resolver',
          name: 'read only',
          nameservers: '127.0.0.1:53',
          transports: 'udp',
          family: 'ipv4',
        },
        { id: 'ro00000000000002', type: 'sip-locate', z: 'tab1', resolver: 'ro00000000000001', wires: [[], []] },
      ],
      {
        SIP_LOCATE_ADMIN_AUTH: JSON.stringify({
          type: 'credentials',
          users: [{ username: 'viewer', password: hash, permissions: 'read' }],
        }),
      },
    );
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
  });

  test('sees the resolver with every button disabled', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(red.url);
    await page.locator('#node-dialog-login-username').fill('viewer');
    await page.locator('#node-dialog-login-password').fill('secret');
    await page.locator('#node-dialog-login-submit').click();
    await openSidebar(page);
    assert.equal(await page.locator('.sip-sb-resolver .sip-sb-name').innerText(), 'read only');
    const reset = page.locator('.sip-sb-reset');
    assert.equal(await reset.isDisabled(), true);
    assert.equal(await reset.getAttribute('title'), 'You have read permission only.');
    await page.screenshot({ path: join(shots, 'sidebar-read-only.png') });
  });
});
