// Drain and enable from the SIP sidebar change what sip-locate returns (Chromium against a real Node-RED).
// Needs POST /sip-resolver/:id/targets (the operator admin API); fails with a clear message while it answers 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium } from './chromium';
import { editorWithSidebar } from './sidebar-page';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';

const RES = 'drr0000000000001';

type Endpoint = { address: string; port: number; stop(): Promise<void> };
type Sip = { targets: Array<{ transport: string; address: string; port: number }> };

describe('drain and enable from the SIP sidebar', { skip: browserSkipReason('sip-sidebar.js') }, () => {
  let red: NodeRedProcess;
  let browser: Browser;
  let page: Page;
  let dns: { nameserver: string; stop(): Promise<void> };
  let endpoints: Record<string, Endpoint>;

  before(async () => {
    const sip = await import('../../demo/sip-endpoints.mjs');
    const zone = await import('../../demo/dns-server.mjs');
    endpoints = await sip.startDemoEndpoints(0);
    dns = await zone.startZoneServer({
      address: '127.0.0.1',
      port: 0,
      origin: 'demo.test',
      records: zone.demoZone('demo.test', endpoints),
    });
    const z = 'drt0000000000001';
    red = await startNodeRedProcess(
      [
        { id: z, type: 'tab', label: 'drain' },
        {
          id: RES,
          type: 'sip-resolver',
          name: 'drain check',
          nameservers: dns.nameserver,
          transports: 'udp',
          family: 'ipv4',
        },
        {
          id: 'dri0000000000001',
          type: 'inject',
          z,
          payload: 'sip:pbx.demo.test',
          payloadType: 'str',
          wires: [['drl0000000000001']],
        },
        { id: 'drl0000000000001', type: 'sip-locate', z, resolver: RES, wires: [['drd0000000000001'], []] },
        { id: 'drd0000000000001', type: 'debug', z, active: true, complete: 'sip', targetType: 'msg', wires: [] },
      ],
      {},
    );
    browser = await launchChromium();
    page = await editorWithSidebar(browser, red.url);
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await dns?.stop();
    for (const e of Object.values(endpoints ?? {})) await e.stop();
  });

  const locate = async (): Promise<string[]> => {
    const got = red.waitDebug('drd0000000000001');
    await red.inject('dri0000000000001');
    return ((await got).msg as Sip).targets.map((t) => `${t.transport}:${t.address}:${t.port}`);
  };

  test('a drained target goes behind the others; enabled, it is back in its priority group', async () => {
    const probe = await fetch(`${red.url}/sip-resolver/${RES}/targets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (probe.status === 404) {
      assert.fail(
        "POST /sip-resolver/:id/targets answered 404: this Node-RED has no operator admin endpoint yet (it comes with the ops branch); the sidebar's drain button cannot work without it.",
      );
    }
    const before = await locate();
    assert.equal(before.length, 3);
    const first = before[0]!;
    const row = page.locator(`.sip-sb-resolver[data-resolver="${RES}"] .sip-sb-target[data-target="${first}"]`);
    await row.locator('.sip-sb-drain').click();
    await row.locator('[data-badge="drained"]').waitFor({ timeout: 10000 });
    const drained = await locate();
    assert.equal(
      drained.indexOf(first),
      2,
      `the drained ${first} is listed after the two others: ${drained.join(' ')}`,
    );
    await row.locator('.sip-sb-enable').click();
    await page
      .locator(`.sip-sb-resolver[data-resolver="${RES}"] .sip-sb-target[data-target="${first}"] [data-badge="drained"]`)
      .waitFor({ state: 'detached', timeout: 10000 });
    const enabled = await locate();
    assert.ok(
      enabled.indexOf(first) < 2,
      `enabled again, ${first} is back among the priority-10 servers: ${enabled.join(' ')}`,
    );
  });
  test('a list longer than a page comes in pages with its total; next and previous move through them', async () => {
    const n = 205;
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${red.url}/sip-resolver/${RES}/targets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          transport: 'udp',
          address: '127.0.0.99',
          port: 20_000 + i,
          state: 'disable',
          seconds: 600,
        }),
      });
      assert.equal(res.status, 200);
    }
    const box = page.locator(`.sip-sb-resolver[data-resolver="${RES}"]`);
    const range = box.locator('.sip-sb-paging [data-total="admin"]');
    await range.waitFor({ timeout: 15000 });
    await page.waitForFunction(
      (id) =>
        /1-200 of 205/.test(
          document.querySelector(`.sip-sb-resolver[data-resolver="${id}"] .sip-sb-paging [data-total="admin"]`)
            ?.textContent ?? '',
        ),
      RES,
      { timeout: 15000 },
    );
    assert.equal(await box.locator('.sip-sb-prev').isDisabled(), true);
    await box.locator('.sip-sb-next').click();
    await page.waitForFunction(
      (id) =>
        /201-205 of 205/.test(
          document.querySelector(`.sip-sb-resolver[data-resolver="${id}"] .sip-sb-paging [data-total="admin"]`)
            ?.textContent ?? '',
        ),
      RES,
      { timeout: 15000 },
    );
    assert.equal(await box.locator('.sip-sb-next').isDisabled(), true);
    await box.locator('.sip-sb-prev').click();
    await page.waitForFunction(
      (id) =>
        /1-200 of 205/.test(
          document.querySelector(`.sip-sb-resolver[data-resolver="${id}"] .sip-sb-paging [data-total="admin"]`)
            ?.textContent ?? '',
        ),
      RES,
      { timeout: 15000 },
    );
  });
});
