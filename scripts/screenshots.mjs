// npm run screenshots: starts the demo (demo/start.mjs, as `npm start` does, on free loopback ports), opens the
// editor in Debian's Chromium at 1600x1000 and writes the README's pictures: docs/quick-start.png (example 01 and
// its debug output), docs/try-it.png (Try it in the resolver dialog) and docs/sidebar.png (the SIP sidebar after
// example 02 failed over). Needs a build (the npm script runs it first) and /usr/bin/chromium.
/* global document, window -- the callbacks given to page.evaluate() and waitForFunction() run in the browser */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import chromiumHarness from '../test/browser/chromium.ts';

// The one launch of Debian's Chromium, shared with the browser tests (this script runs under tsx).
const { CHROMIUM, launchChromium } = chromiumHarness;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const docs = join(root, 'docs');
const VIEWPORT = { width: 1600, height: 1000 };
/** How long the demo may take to come up (Node-RED loads every example). */
const DEMO_START_MS = 120_000;
/** How long one step in the editor may take (a locate, a failover through a silent server). */
const STEP_MS = 60_000;
/** The demo's SIP endpoints take this many consecutive ports. */
const SIP_SPAN = 4;

function tcpFree(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function udpFree(port) {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The demo's own ports (what the README shows) when they are free, else seven free loopback ports in a row. */
async function freePorts() {
  const defaults = { PORT: 1880, DEMO_DNS_PORT: 15353, DEMO_REDIS_PORT: 16379, DEMO_SIP_PORT: 15060 };
  const wanted = [
    defaults.PORT,
    defaults.DEMO_DNS_PORT,
    defaults.DEMO_REDIS_PORT,
    ...[...Array(SIP_SPAN).keys()].map((k) => defaults.DEMO_SIP_PORT + k),
  ];
  let free = true;
  for (const p of wanted) if (!(await tcpFree(p)) || !(await udpFree(p))) free = false;
  if (free) return defaults;
  console.log("screenshots: the demo's default ports are taken; the pictures will show other port numbers");
  for (let i = 0; i < 100; i++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    const ports = [...Array(3 + SIP_SPAN).keys()].map((k) => base + k);
    let ok = true;
    for (const p of ports) if (!(await tcpFree(p)) || !(await udpFree(p))) ok = false;
    if (ok) return { PORT: base, DEMO_DNS_PORT: base + 1, DEMO_REDIS_PORT: base + 2, DEMO_SIP_PORT: base + 3 };
  }
  throw new Error('screenshots: no run of free loopback ports found');
}

/** Starts demo/start.mjs; resolves {url, stop()} once it prints the editor's address. */
function startDemo(ports) {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(ports)) env[k] = String(v);
  const child = spawn(process.execPath, [join(root, 'demo', 'start.mjs')], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`screenshots: the demo did not start within ${DEMO_START_MS / 1000} s:\n${out.slice(-3000)}`));
    }, DEMO_START_MS);
    const read = (d) => {
      out = (out + d).slice(-20000);
      const m = /Open (http:\/\/\S+) in a browser/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`screenshots: the demo exited with ${code}:\n${out.slice(-3000)}`));
    });
  });
}

/** The editor with every example loaded, the palette ready and the Debug sidebar shown. */
async function openEditor(browser, url) {
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(url);
  await page.waitForSelector('.red-ui-palette-node[data-palette-type="sip-locate"]', { timeout: STEP_MS });
  return page;
}

/** Waits until no notification ("Successfully injected", ...) covers the header. */
async function noNotification(page) {
  await page.waitForFunction(() => document.querySelectorAll('.red-ui-notification').length === 0, undefined, {
    timeout: STEP_MS,
  });
}

/** Shows the workspace tab whose label starts with `prefix`. */
async function showTab(page, prefix) {
  await page.locator('#red-ui-workspace-tabs li').filter({ hasText: prefix }).first().click();
}

/** Clicks the button of the inject node labelled `label` on the visible tab. */
async function inject(page, label) {
  await page
    .locator('g.red-ui-flow-node-group:visible')
    .filter({ hasText: label })
    .locator('.red-ui-flow-node-button')
    .first()
    .click();
}

/** docs/quick-start.png: example 01, its first inject clicked, the located targets open in the Debug sidebar. */
async function quickStart(page) {
  await showTab(page, '01 ');
  await page.evaluate(() => window.RED.sidebar.show('debug'));
  await inject(page, 'sip:pbx.demo.test');
  const msg = page.locator('.red-ui-debug-msg').filter({ hasText: 'targets' }).first();
  await msg.waitFor({ timeout: STEP_MS });
  await msg.locator('.red-ui-debug-msg-object-header').first().click();
  await msg
    .locator('.red-ui-debug-msg-object-key:visible')
    .filter({ hasText: /^target$/ })
    .first()
    .click();
  await msg.getByText('"127.0.0.1"').first().waitFor({ timeout: STEP_MS });
  await page.mouse.move(VIEWPORT.width / 2, VIEWPORT.height - 5);
  await noNotification(page);
  await page.screenshot({ path: join(docs, 'quick-start.png') });
}

/** docs/try-it.png: the resolver dialog of example 01 with Try it drawn for sip:pbx.demo.test. */
async function tryIt(page) {
  await page.evaluate(() => {
    const loc = window.RED.nodes.filterNodes({ type: 'sip-locate' }).find((n) => n.resolver);
    window.RED.editor.editConfig('', 'sip-resolver', loc.resolver);
  });
  const uri = page.locator('#node-config-sip-try-uri');
  await uri.waitFor({ timeout: STEP_MS });
  await uri.fill('sip:pbx.demo.test');
  await page.locator('#node-config-sip-try-button').click();
  const tree = page.locator('#node-config-sip-try-result .sip-locate-tree');
  await tree.waitFor({ timeout: STEP_MS });
  await uri.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await noNotification(page);
  await page.screenshot({ path: join(docs, 'try-it.png') });
  await page.locator('#node-config-dialog-cancel').click();
  await page.locator('#red-ui-header-shade').waitFor({ state: 'hidden', timeout: STEP_MS });
}

/** docs/sidebar.png: example 02 run once (busy 503 black, silent grey, healthy answered), then the SIP sidebar. */
async function sidebar(page) {
  await showTab(page, '02 ');
  await inject(page, 'sip:pbx.demo.test');
  await page.evaluate(() => window.RED.sidebar.show('sip-locate'));
  const dest = page
    .locator('.sip-sb-dest[data-destination="sip:pbx.demo.test"]')
    .filter({ has: page.locator('[data-badge="black"]') });
  await dest.locator('[data-badge="grey"]').first().waitFor({ timeout: STEP_MS });
  await dest.first().scrollIntoViewIfNeeded();
  await page.mouse.move(VIEWPORT.width / 2, VIEWPORT.height - 5);
  await noNotification(page);
  await page.screenshot({ path: join(docs, 'sidebar.png') });
}

if (!existsSync(join(root, 'dist', 'nodes', 'sip-locate.js'))) throw new Error('screenshots: run npm run build first');
if (!existsSync(CHROMIUM)) throw new Error(`screenshots: ${CHROMIUM} is missing (Debian package chromium)`);
const demo = await startDemo(await freePorts());
let browser;
try {
  browser = await launchChromium();
  const page = await openEditor(browser, demo.url);
  await quickStart(page);
  await tryIt(page);
  await sidebar(page);
  console.log('screenshots: wrote docs/quick-start.png, docs/try-it.png, docs/sidebar.png');
} finally {
  await browser?.close();
  await demo.stop();
}
