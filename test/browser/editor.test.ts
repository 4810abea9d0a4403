// The editor in a real browser: Debian's Chromium driven by playwright-core against a real Node-RED process.
// Screenshots of each step go to test-results/browser/ (git-ignored).
import { after, before, describe, test } from 'node:test';
import { LAB_SIP_PORT } from '../../src/lab';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { browserSkipReason, launchChromium } from './chromium';
import { startNodeRedProcess, type NodeRedProcess } from '../servers/node-red';

const shots = join(__dirname, '..', '..', 'test-results', 'browser');

/**
 * Opens Import > Examples > node-red-contrib-sip-locate and selects `name`, until the dialog's Import button is
 * enabled (the editor fetches the example first; on a busy machine a click on a tree still being drawn can select
 * nothing, so the item is clicked again, at most 3 times). The dialog is left open.
 */
async function selectExample(page: Page, name: string, shot?: () => Promise<void>): Promise<void> {
  await page.locator('#red-ui-header-button-sidemenu').click();
  await page.locator('#menu-item-import').click();
  await page.locator('#red-ui-clipboard-dialog').waitFor();
  await page.locator('#red-ui-tab-red-ui-clipboard-dialog-import-tab-examples a').click();
  const examples = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
  const folder = examples.getByText('node-red-contrib-sip-locate', { exact: true });
  await folder.waitFor();
  // The editor remembers that an earlier import opened this folder: a click would close it again.
  const item = examples.getByText(name, { exact: true });
  if (!(await item.isVisible())) await folder.click();
  const ok = page.locator('#red-ui-clipboard-dialog-ok');
  for (let attempt = 1; ; attempt++) {
    await item.click();
    try {
      await page.waitForFunction(
        () => !document.querySelector<HTMLButtonElement>('#red-ui-clipboard-dialog-ok')?.disabled,
        undefined,
        { timeout: 20_000 },
      );
      break;
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
  await shot?.();
  await ok.click();
}

describe('the editor in Chromium', { skip: browserSkipReason() }, () => {
  let red: NodeRedProcess;
  let browser: Browser;
  let page: Page;
  let dns: { nameserver: string; stop(): Promise<void> };
  let endpoints: Record<string, { port: number; stop(): Promise<void> }>;
  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(shots, `${name}.png`) });
  };

  before(async () => {
    mkdirSync(shots, { recursive: true });
    const sip = await import('../../demo/sip-endpoints.mjs');
    const zone = await import('../../demo/dns-server.mjs');
    // The examples imported from the menu name the lab's ports in their static records: the endpoints listen there.
    endpoints = await sip.startDemoEndpoints(LAB_SIP_PORT);
    dns = await zone.startZoneServer({
      address: '127.0.0.1',
      port: 0,
      origin: 'demo.test',
      records: zone.demoZone('demo.test', endpoints as never),
    });
    red = await startNodeRedProcess([{ id: 'tab0', type: 'tab', label: 'Flow 1' }], {
      SIP_LOCATE_NAMESERVERS: dns.nameserver,
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(red.url);
    await page.waitForSelector('.red-ui-palette-node[data-palette-type="sip-locate"]', { timeout: 30000 });
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await dns?.stop();
    for (const e of Object.values(endpoints ?? {})) await e.stop();
  });

  test('the palette shows the three nodes with their icons', async () => {
    for (const type of ['sip-locate', 'sip-target-failed', 'sip-options']) {
      const node = page.locator(`.red-ui-palette-node[data-palette-type="${type}"]`);
      await node.waitFor();
      const icon = await node.locator('.red-ui-palette-icon').evaluate((el) => getComputedStyle(el).backgroundImage);
      assert.match(icon, new RegExp(`icons/node-red-contrib-sip-locate/${type}\\.svg`));
      const status = await page.evaluate(
        async (url) => (await fetch(url)).status,
        `${red.url}/icons/node-red-contrib-sip-locate/${type}.svg`,
      );
      assert.equal(status, 200);
    }
    await shot('01-palette');
  });

  test('a node dragged from the palette lands in the flow and its dialog opens with the URI field', async () => {
    const source = page.locator('.red-ui-palette-node[data-palette-type="sip-locate"]');
    await source.dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x: 350, y: 200 }, steps: 20 });
    const count = await page.evaluate(
      () =>
        (window as unknown as { RED: { nodes: { filterNodes(f: object): unknown[] } } }).RED.nodes.filterNodes({
          type: 'sip-locate',
        }).length,
    );
    assert.equal(count, 1);
    await page
      .locator('g.red-ui-flow-node-group')
      .filter({ hasText: 'sip-locate' })
      .locator('.red-ui-flow-node')
      .dblclick();
    await page.waitForSelector('#node-input-resolver', { state: 'attached' });
    await page.waitForSelector('.red-ui-typedInput-container');
    await shot('02-dragged-and-editing');
    await page.locator('#node-dialog-delete').click();
    assert.equal(
      await page.evaluate(
        () =>
          (window as unknown as { RED: { nodes: { filterNodes(f: object): unknown[] } } }).RED.nodes.filterNodes({
            type: 'sip-locate',
          }).length,
      ),
      0,
    );
  });

  test('an example is imported through the Import menu, deployed, and an inject shows the target in Debug', async () => {
    await selectExample(page, '01 - Locate a SIP URI', () => shot('03-import-dialog'));
    await page.mouse.move(700, 500);
    await page.mouse.click(700, 500);
    await page.locator('#red-ui-header-button-deploy').click();
    await page.waitForFunction(
      () => !(window as unknown as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty(),
      undefined,
      { timeout: 15000 },
    );
    await page.locator('#red-ui-workspace-tabs li').filter({ hasText: '01 Locate a SIP URI' }).click();
    await shot('04-imported-and-deployed');
    await page.evaluate(() =>
      (window as unknown as { RED: { sidebar: { show(id: string): void } } }).RED.sidebar.show('debug'),
    );
    const inject = page
      .locator('g.red-ui-flow-node-group')
      .filter({ hasText: 'sip:pbx.demo.test' })
      .locator('.red-ui-flow-node-button');
    await inject.click();
    const msg = page.locator('.red-ui-debug-msg').filter({ hasText: 'targets' }).first();
    await msg.waitFor({ timeout: 15000 });
    await msg.locator('.red-ui-debug-msg-object-header').first().click();
    await msg
      .locator('.red-ui-debug-msg-object-key:visible')
      .filter({ hasText: /^target$/ })
      .first()
      .click();
    await msg.getByText('"127.0.0.1"').first().waitFor();
    await shot('05-debug-target');
    const text = await msg.innerText();
    assert.match(text, /targets/);
    const ports = ['busy', 'silent', 'healthy'].map((n) => endpoints[n]!.port).join('|');
    assert.match(text, new RegExp(`port: (${ports})\\b`), 'a located target (a demo endpoint) is shown');
  });

  test('Try it in the sip-resolver dialog draws the NAPTR -> SRV -> A tree with TTLs and the targets', async () => {
    const nodeId = await page.evaluate(() => {
      const RED = (
        window as unknown as {
          RED: {
            nodes: { filterNodes(f: object): Array<{ id: string; resolver: string }>; node(id: string): unknown };
            editor: { editConfig(a: string, t: string, id: string): void };
          };
        }
      ).RED;
      const loc = RED.nodes.filterNodes({ type: 'sip-locate' }).find((n) => n.resolver);
      RED.editor.editConfig('', 'sip-resolver', loc!.resolver);
      return loc!.resolver;
    });
    assert.ok(nodeId);
    await page.locator('#node-config-sip-try-uri').fill('sip:pbx.demo.test');
    await page.locator('#node-config-sip-try-button').click();
    const tree = page.locator('#node-config-sip-try-result .sip-locate-tree');
    await tree.waitFor({ timeout: 15000 });
    const text = await page.locator('#node-config-sip-try-result').innerText();
    assert.match(text, /NAPTR/);
    assert.match(text, new RegExp(`SRV 10 50 ${endpoints.busy!.port} busy\\.demo\\.test`));
    assert.match(text, /ttl 60/);
    assert.match(text, /A 127\.0\.0\.1 ttl 60/);
    const nodata = page.locator('#node-config-sip-try-result .sip-locate-nodata');
    assert.ok((await nodata.count()) >= 3, 'AAAA without records for busy, silent and healthy');
    assert.equal((await nodata.first().innerText()).trim(), 'no records');
    const colours = await page.evaluate(() => {
      const grey = document.querySelector('#node-config-sip-try-result .sip-locate-nodata');
      const probe = document.createElement('span');
      probe.className = 'sip-locate-error';
      document.querySelector('#node-config-sip-try-result')!.appendChild(probe);
      const out = [getComputedStyle(grey!).color, getComputedStyle(probe).color];
      probe.remove();
      return out;
    });
    assert.notEqual(colours[0], colours[1], 'NODATA is not drawn in the error colour');
    assert.equal(
      await page.locator('#node-config-sip-try-result .sip-locate-tag.sip-locate-error').count(),
      0,
      'no red tag for a normal answer',
    );
    assert.equal(
      (await page.locator('#node-config-sip-try-button').innerText()).trim(),
      'Try it',
      'the button says what the section says',
    );
    await shot('06-try-it');
    await page.locator('#node-config-dialog-cancel').click();
    await page.locator('#red-ui-header-shade').waitFor({ state: 'hidden' });
  });

  test('Try it with a bad URI shows the server\'s error code and sentence, not "400: Bad Request"', async () => {
    await page.evaluate(() => {
      const RED = (
        window as unknown as {
          RED: {
            nodes: { filterNodes(f: object): Array<{ id: string; resolver: string }> };
            editor: { editConfig(a: string, t: string, id: string): void };
          };
        }
      ).RED;
      const loc = RED.nodes.filterNodes({ type: 'sip-locate' }).find((n) => n.resolver);
      RED.editor.editConfig('', 'sip-resolver', loc!.resolver);
    });
    await page.locator('#node-config-sip-try-uri').fill('sip:exa mple.com');
    await page.locator('#node-config-sip-try-button').click();
    const error = page.locator('#node-config-sip-try-result .sip-locate-error');
    await error.waitFor({ timeout: 15000 });
    const text = (await error.innerText()).trim();
    assert.match(text, /^EINVALIDURI: "sip:exa mple\.com" is not a usable SIP URI: .+\.$/, text);
    assert.doesNotMatch(text, /Bad Request|^400/);
    await shot('06b-try-it-error');
    await page.locator('#node-config-dialog-cancel').click();
    await page.locator('#red-ui-header-shade').waitFor({ state: 'hidden' });
  });

  test('the SIP sidebar tab is one click away at 1600x1000 and 1400x900: its button shows in the tab bar, not in the overflow menu', async () => {
    for (const viewport of [
      { width: 1600, height: 1000 },
      { width: 1400, height: 900 },
    ]) {
      const p = await browser.newPage({ viewport });
      try {
        await p.goto(red.url);
        await p.waitForSelector('.red-ui-palette-node[data-palette-type="sip-locate"]', { timeout: 30000 });
        const button = p.locator('#red-ui-tab-sip-locate-link-button');
        await button.waitFor({ state: 'attached', timeout: 15000 });
        await button.waitFor({ state: 'visible', timeout: 5000 }).catch(async (e: Error) => {
          throw new Error(
            `${e.message}\n${await p.locator('.red-ui-tab-link-buttons').evaluate((el) => el.outerHTML)}`,
          );
        });
        const box = await button.boundingBox();
        assert.ok(
          box && box.x + box.width <= viewport.width,
          `the button is on screen at ${viewport.width}x${viewport.height}`,
        );
        await button.click();
        await p.locator('.sip-sb').waitFor({ state: 'visible', timeout: 15000 });
        assert.equal(
          await p.locator('#red-ui-tab-sip-locate').evaluate((el) => el.classList.contains('active')),
          true,
          'one click shows the SIP tab',
        );
        if (viewport.width === 1600) await p.screenshot({ path: join(shots, '08-sidebar-one-click.png') });
      } finally {
        await p.close();
      }
    }
  });

  test('a sip-options node without a saved Certificate for setting shows the default, "the SIP domain"', async () => {
    await page.evaluate(() => {
      const RED = (window as unknown as { RED: { view: { importNodes(n: unknown[]): void } } }).RED;
      RED.view.importNodes([
        {
          id: 'opt0000000000001',
          type: 'sip-options',
          z: 'tab0',
          name: 'no identity saved',
          x: 200,
          y: 300,
          wires: [[], []],
        },
      ]);
    });
    await page.mouse.click(700, 500);
    await page.evaluate(() => {
      const RED = (
        window as unknown as { RED: { nodes: { node(id: string): unknown }; editor: { edit(n: unknown): void } } }
      ).RED;
      RED.editor.edit(RED.nodes.node('opt0000000000001'));
    });
    const select = page.locator('#node-input-tlsIdentity');
    await select.waitFor();
    assert.equal(await select.inputValue(), 'domain');
    assert.match(await select.locator('option:checked').innerText(), /SIP domain/);
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#red-ui-header-shade').waitFor({ state: 'hidden' });
    await page.evaluate(() => {
      const RED = (
        window as unknown as {
          RED: { nodes: { node(id: string): unknown; remove(id: string): void }; view: { redraw(): void } };
        }
      ).RED;
      RED.nodes.remove('opt0000000000001');
      RED.view.redraw();
    });
  });

  test('an unnamed resolver is labelled from the catalog: "system DNS (sticky)"', async () => {
    const label = await page.evaluate(() => {
      const RED = (
        window as unknown as {
          RED: { nodes: { getType(t: string): unknown }; utils: { getNodeLabel(n: object, d?: string): string } };
        }
      ).RED;
      return RED.utils.getNodeLabel(
        {
          type: 'sip-resolver',
          _def: RED.nodes.getType('sip-resolver'),
          name: '',
          nameservers: '',
          sticky: true,
          store: 'memory',
        },
        'fallback',
      );
    });
    assert.equal(label, 'system DNS (sticky)');
  });

  test('in German, every label of the sip-resolver dialog fits (none is cut off) and the family options are translated', async () => {
    const de = await browser.newPage({ viewport: { width: 1400, height: 900 }, locale: 'de-DE' });
    try {
      await de.goto(red.url);
      await de.waitForSelector('.red-ui-palette-node[data-palette-type="sip-locate"]', { timeout: 30000 });
      await de.evaluate(() =>
        (
          window as unknown as { RED: { editor: { editConfig(a: string, t: string, id: string): void } } }
        ).RED.editor.editConfig('', 'sip-resolver', '_ADD_'),
      );
      await de.locator('#node-config-input-store').waitFor();
      await de.locator('#node-config-input-store').selectOption('context');
      const cut = await de.evaluate(() =>
        Array.from(document.querySelectorAll('.red-ui-editor .form-row label'))
          .filter((l) => (l as HTMLElement).offsetParent !== null && l.scrollWidth > l.clientWidth + 1)
          .map((l) => (l.textContent ?? '').trim()),
      );
      assert.deepEqual(cut, [], 'labels wider than their box');
      assert.equal((await de.locator('label[for="node-config-input-store"]').innerText()).trim(), 'Speicher');
      assert.equal((await de.locator('#node-config-input-family option[value="ipv6"]').innerText()).trim(), 'nur IPv6');
      assert.equal(
        await de.locator('#node-config-input-minTtl').inputValue(),
        '0',
        'a new resolver shows its TTL floor default, 0',
      );
      // The defaults written in at build time from the options tables (settings-defaults.test.ts ties them to the tables).
      assert.deepEqual(
        [
          await de.locator('#node-config-input-maxTimeout').inputValue(),
          await de.locator('#node-config-input-staleBytes').inputValue(),
          await de.locator('#node-config-input-resolveTimeout').inputValue(),
        ],
        ['5000', '8388608', '10'],
      );
      assert.deepEqual(
        [
          await de.locator('#node-config-input-hedge').isChecked(),
          await de.locator('#node-config-input-adaptive').isChecked(),
          await de.locator('#node-config-input-numericReportsShared').isChecked(),
        ],
        [true, true, false],
      );
      await de.screenshot({ path: join(shots, '07b-resolver-de.png') });
      await de.locator('#node-config-dialog-cancel').click();
      await de.locator('#red-ui-header-shade').waitFor({ state: 'hidden' });
      // Try it in German: the deployed resolver of example 01 (imported above), table headers, marks and nameserver state.
      await de.evaluate(() => {
        const RED = (
          window as unknown as {
            RED: {
              nodes: { filterNodes(f: object): Array<{ resolver: string }> };
              editor: { editConfig(a: string, t: string, id: string): void };
            };
          }
        ).RED;
        RED.editor.editConfig(
          '',
          'sip-resolver',
          RED.nodes.filterNodes({ type: 'sip-locate' }).find((n) => n.resolver)!.resolver,
        );
      });
      const tryUri = de.locator('#node-config-sip-try-uri');
      await tryUri.waitFor();
      const top = await tryUri.boundingBox();
      assert.ok(top && top.y < 300, `Try it is at the top of the dialog (y = ${top?.y})`);
      await tryUri.fill('sip:pbx.demo.test');
      await de.locator('#node-config-sip-try-button').click();
      await de.locator('#node-config-sip-try-result table').waitFor({ timeout: 15000 });
      const headers = await de.locator('#node-config-sip-try-result table th').allInnerTexts();
      assert.deepEqual(
        headers.map((h) => h.trim()),
        ['#', 'Transport', 'Adresse', 'Port', 'Host', ''],
      );
      const result = await de.locator('#node-config-sip-try-result').innerText();
      assert.match(result, /gesund/, 'the nameserver state in German');
      assert.doesNotMatch(result, /\bhealthy\b(?!\.)|\btransport\b|\baddress\b/);
      const marks = await de.locator('#node-config-sip-try-result table td:last-child').allInnerTexts();
      for (const m of marks.map((x) => x.trim()).filter(Boolean))
        assert.ok(['grau', 'schwarz'].includes(m), `mark "${m}" in German`);
      await de.screenshot({ path: join(shots, '07c-try-it-de.png') });
    } finally {
      await de.close();
    }
  });

  test('the State store setting shows the fields of the chosen store; context lists the stores from settings.js', async () => {
    await page.evaluate(() => {
      const RED = (
        window as unknown as {
          RED: {
            nodes: { filterNodes(f: object): Array<{ id: string; resolver: string }> };
            editor: { editConfig(a: string, t: string, id: string): void };
          };
        }
      ).RED;
      const loc = RED.nodes.filterNodes({ type: 'sip-locate' }).find((n) => n.resolver);
      RED.editor.editConfig('', 'sip-resolver', loc!.resolver);
    });
    const store = page.locator('#node-config-input-store');
    await store.waitFor();
    assert.equal(await store.inputValue(), 'memory', 'memory is the default');
    assert.equal(await page.locator('#node-config-input-redisUrl').isVisible(), false);
    assert.equal(await page.locator('#node-config-input-contextStore').isVisible(), false);
    await store.selectOption('context');
    assert.equal(await page.locator('#node-config-input-contextStore').isVisible(), true);
    const options = await page
      .locator('#node-config-input-contextStore option')
      .evaluateAll((els) => els.map((e) => (e as HTMLOptionElement).value));
    assert.ok(options.includes('file'), `the localfilesystem store from settings.js is offered: ${options.join(',')}`);
    await store.selectOption('redis');
    assert.equal(await page.locator('#node-config-input-redisUrl').isVisible(), true);
    assert.equal(await page.locator('#node-config-input-redisPassword').getAttribute('type'), 'password');
    assert.equal(await page.locator('#node-config-input-contextStore').isVisible(), false);
    await page.locator('#node-config-input-redisUrl').fill('redis://127.0.0.1:6379/0');
    await page.locator('#node-config-input-redisUrl').scrollIntoViewIfNeeded();
    await shot('07-state-store');
    await page.locator('#node-config-dialog-cancel').click();
    await page.locator('#red-ui-header-shade').waitFor({ state: 'hidden' });
  });

  test('the failover example: 503 and silence, then the healthy server answers (README screenshot)', async () => {
    await selectExample(page, '02 - Failover until one answers');
    // 02 shares example 01's resolver (same id): Node-RED says the node exists; "Import copy" reuses that config node.
    await page.getByRole('button', { name: 'Import copy' }).click();
    await page.locator('#red-ui-header-button-deploy').click();
    await page.waitForFunction(
      () => !(window as unknown as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty(),
      undefined,
      { timeout: 15000 },
    );
    const resolvers = await page.evaluate(() => {
      const names: string[] = [];
      (
        window as unknown as { RED: { nodes: { eachConfig(cb: (n: { type: string; name: string }) => void): void } } }
      ).RED.nodes.eachConfig((n) => {
        if (n.type === 'sip-resolver') names.push(n.name);
      });
      return names;
    });
    assert.deepEqual(
      resolvers.filter((n) => n === 'demo.test'),
      ['demo.test'],
      'examples 01 and 02 share one resolver: the import reuses the config node with the same id',
    );
    await page.locator('#red-ui-workspace-tabs li').filter({ hasText: '02 Failover until one answers' }).click();
    await page
      .locator('g.red-ui-flow-node-group')
      .filter({ hasText: 'sip:pbx.demo.test' })
      .locator('.red-ui-flow-node-button')
      .click();
    const msg = page.locator('.red-ui-debug-msg').filter({ hasText: 'answered' }).first();
    await msg.waitFor({ timeout: 20000 });
    await msg.locator('.red-ui-debug-msg-object-header').first().click();
    await msg
      .locator('.red-ui-debug-msg-object-key:visible')
      .filter({ hasText: /^target$/ })
      .first()
      .click();
    await msg.getByText('"127.0.0.1"').first().waitFor();
    assert.match(
      await msg.innerText(),
      new RegExp(`port: ${endpoints.healthy!.port}\\b`),
      'the healthy endpoint answered',
    );
    assert.match(await msg.innerText(), /attempt: 3/);
    await shot('07-failover-example');
  });

  test('Try it with a tel: URI draws the ENUM step as the first branch, then the SIP tree (example 07)', async () => {
    const flow = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'examples', '07 - Route a phone number through ENUM.json'), 'utf8'),
    ) as unknown[];
    await page.evaluate((nodes) => {
      const RED = (window as unknown as { RED: { view: { importNodes(n: unknown[]): void } } }).RED;
      RED.view.importNodes(nodes);
    }, flow);
    await page.mouse.move(700, 500);
    await page.mouse.click(700, 500);
    await page.locator('#red-ui-header-button-deploy').click();
    await page.waitForFunction(
      () => !(window as unknown as { RED: { nodes: { dirty(): boolean } } }).RED.nodes.dirty(),
      undefined,
      { timeout: 15000 },
    );
    await page.evaluate(() => {
      type Config = { id: string; enumSuffixes?: string };
      const RED = (
        window as unknown as {
          RED: {
            nodes: { filterNodes(f: object): Array<{ resolver: string }>; node(id: string): Config | null };
            editor: { editConfig(a: string, t: string, id: string): void };
          };
        }
      ).RED;
      const resolver = RED.nodes
        .filterNodes({ type: 'sip-locate' })
        .map((n) => RED.nodes.node(n.resolver))
        .find((r) => r?.enumSuffixes === 'e164.demo.test');
      RED.editor.editConfig('', 'sip-resolver', resolver!.id);
    });
    assert.equal(await page.locator('#node-config-input-enumFallback').inputValue(), 'sip:{number}@gateway.demo.test');
    await page.locator('#node-config-sip-try-uri').fill('tel:+1-202-555-0101');
    await page.locator('#node-config-sip-try-button').click();
    await page.locator('#node-config-sip-try-result .sip-locate-tree').waitFor({ timeout: 15000 });
    const branches = await page.locator('#node-config-sip-try-result .sip-locate-tree > li > ul > li').allInnerTexts();
    assert.match(branches[0]!, /^ENUM \+12025550101 suffixes e164\.demo\.test/);
    assert.match(branches[0]!, /NAPTR 10 10 "u" "E2U\+sip" "!\^\\\+\(\.\*\)\$!sip:\\1@pbx\.demo\.test!"/);
    assert.match(branches[1]!, /^sip:pbx\.demo\.test/);
    assert.match(
      await page.locator('#node-config-sip-try-result .sip-locate-enum').innerText(),
      /ENUM \+12025550101 → sip:12025550101@pbx\.demo\.test \(1\.0\.1\.0\.5\.5\.5\.2\.0\.2\.1\.e164\.demo\.test, 10\/10\)/,
    );
    await page.locator('#node-config-sip-try-result').scrollIntoViewIfNeeded();
    await shot('06b-try-it-enum');
    await page.locator('#node-config-dialog-cancel').click();
    await page.locator('#red-ui-header-shade').waitFor({ state: 'hidden' });
  });
});
