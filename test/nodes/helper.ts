/** node-red-node-test-helper set up for Node-RED 4 (the devDependency) or the runtime in SIP_LOCATE_NODE_RED. */
import helper = require('node-red-node-test-helper');

const runtime = process.env.SIP_LOCATE_NODE_RED ? require.resolve(process.env.SIP_LOCATE_NODE_RED) : require.resolve('node-red');
helper.init(runtime);

export { helper };
/** The three node modules, loaded from the TypeScript sources. */
export const NODES = [require('../../src/nodes/sip-resolver'), require('../../src/nodes/sip-locate'), require('../../src/nodes/sip-target-failed')];

/** Waits for the next message on a helper node, with a deadline. */
export function nextMessage(node: { on(e: string, cb: (m: any) => void): void; removeAllListeners?: (e: string) => void }, ms = 5000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
    node.on('input', (m: any) => {
      clearTimeout(timer);
      node.removeAllListeners?.('input');
      resolve(m);
    });
  });
}
