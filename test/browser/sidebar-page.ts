/** Opening the SIP sidebar in a loaded editor, for the sidebar's browser tests. */
import type { Browser, Page } from 'playwright-core';

/** Waits for the palette, then shows the SIP tab until it stays shown with a resolver in it. */
export async function openSidebar(page: Page): Promise<void> {
  await page.waitForSelector('.red-ui-palette-node[data-palette-type="sip-locate"]', { timeout: 30000 });
  // The editor may still restore its last sidebar tab after the plugin loaded: show ours until it stays shown.
  await page.waitForFunction(
    () => {
      const RED = (
        window as unknown as { RED: { sidebar: { show(id: string): void; containsTab(id: string): boolean } } }
      ).RED;
      if (!RED.sidebar.containsTab('sip-locate')) return false;
      RED.sidebar.show('sip-locate');
      const box = document.querySelector('.sip-sb-resolver');
      return box !== null && box.getClientRects().length > 0;
    },
    undefined,
    { polling: 250, timeout: 20000 },
  );
}

/** A new 1400x900 page on the editor at url, with the SIP sidebar shown. */
export async function editorWithSidebar(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await openSidebar(page);
  return page;
}
