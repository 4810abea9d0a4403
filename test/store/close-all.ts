/** Closes the links and locators a test opened, emptying the list (so none writes into the next test's store). */
export async function closeAll(
  open: Array<{ link: { close(): Promise<void> }; locator: { close(): void } }>,
): Promise<void> {
  for (const i of open.splice(0)) {
    await i.link.close();
    i.locator.close();
  }
}
