// Test-run watchdog, loaded into each test file's process by test/run.mjs (not into Node-RED or CLI processes).
// The runner does not force test processes to exit: a file whose tests are done but which keeps a socket, timer or
// child process open would hang the run. So, once every test of the file has finished, an unref'd timer waits
// EXIT_GRACE_MS; it only fires when something still keeps the process alive, and then names what (the kinds of open
// handles) and ends the process with a failure, instead of hanging.
import { after } from 'node:test';

/**
 * How long a finished test file may take to close its last handles. The timer starts as the file's root-level `after`
 * hooks begin (node:test runs this one first), so it covers the file's own cleanup too: servers stopping on a loaded
 * machine take seconds, never a minute.
 */
const EXIT_GRACE_MS = 60_000;

if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
      process.stderr.write(
        `exit watch: ${process.argv[1]} finished its tests ${EXIT_GRACE_MS / 1000} s ago but keeps the process alive: ${open.join(', ')}\n`,
      );
      process.exit(1);
    }, EXIT_GRACE_MS).unref();
  });
}
