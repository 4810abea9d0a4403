/** Debian's Chromium for the browser tests: where it is, how it is launched, and when the tests are skipped. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { INSTALL_HINT } from '../servers/dns-servers';

/** The Chromium binary Debian's package installs. */
export const CHROMIUM = '/usr/bin/chromium';

/** Why a browser test cannot run (not built, no Chromium), or false; under CI=true a missing Chromium throws. */
export function browserSkipReason(builtFile = 'sip-locate.js'): string | false {
  if (!existsSync(join(__dirname, '..', '..', 'dist', 'nodes', builtFile))) return 'run npm run build first';
  if (existsSync(CHROMIUM)) return false;
  const msg = `chromium is not installed; install with: ${INSTALL_HINT}`;
  if (process.env.CI === 'true') throw new Error(`CI: ${msg}`);
  process.stderr.write(`\n*** SKIPPED browser test: ${msg}\n`);
  return msg;
}

/** Starts headless Chromium with no background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
