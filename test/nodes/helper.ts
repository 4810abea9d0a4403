/** node-red-node-test-helper set up for Node-RED 4 (the devDependency) or the runtime in SIP_LOCATE_NODE_RED. */
import helper = require('node-red-node-test-helper');

/** A test flow: node-red-node-test-helper's items with the node's own properties. */
export type Flow = Array<helper.TestFlowsItem & Record<string, unknown>>;

const runtime = process.env.SIP_LOCATE_NODE_RED
  ? require.resolve(process.env.SIP_LOCATE_NODE_RED)
  : require.resolve('node-red');
helper.init(runtime);

export { helper };
/** The three node modules, loaded from the TypeScript sources. */
export const NODES = [
  require('../../src/nodes/sip-resolver'),
  require('../../src/nodes/sip-locate'),
  require('../../src/nodes/sip-target-failed'),
];

/** A message as node-red-node-test-helper delivers it: untyped, read loosely by the tests (the one place `any` is allowed). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the test helper's messages carry no types
export type HelperMsg = any;

/** Waits for the next message on a helper node, with a deadline (a failsafe for a loaded machine, not a window). */
export function nextMessage(
  node: { on(e: string, cb: (m: HelperMsg) => void): void; removeAllListeners?: (e: string) => void },
  ms = 20_000,
): Promise<HelperMsg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
    node.on('input', (m: HelperMsg) => {
      clearTimeout(timer);
      node.removeAllListeners?.('input');
      resolve(m);
    });
  });
}

/** Counts what leaves each output and waits until `n` messages have left in total. */
export function collector(ids: string[]): {
  seen: Map<string, number>;
  total: () => number;
  until(n: number): Promise<void>;
  byOutput: Record<string, unknown[]>;
} {
  const seen = new Map<string, number>();
  const byOutput: Record<string, unknown[]> = {};
  let waiting: { n: number; resolve: () => void } | undefined;
  const total = (): number => [...seen.values()].reduce((a, b) => a + b, 0);
  for (const id of ids) {
    byOutput[id] = [];
    helper.getNode(id).on('input', (msg: { _msgid: string }) => {
      seen.set(msg._msgid, (seen.get(msg._msgid) ?? 0) + 1);
      byOutput[id]!.push(msg);
      if (waiting && total() >= waiting.n) waiting.resolve();
    });
  }
  return {
    seen,
    total,
    byOutput,
    until(n: number): Promise<void> {
      if (total() >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${total()} of ${n} messages left the node`)), 20000);
        waiting = {
          n,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
        };
      });
    },
  };
}
