// @types/node-red-node-test-helper 0.3.5 types the helper but not what it adds to every node it loads:
// each node method is wrapped in a sinon spy that emits `call:<method>` with the spy call (its `args`).
import '@node-red/registry';

declare module '@node-red/registry' {
  interface Node {
    /** Emitted by node-red-node-test-helper after each call of the node method named after `call:`. */
    on<A = unknown>(event: `call:${string}`, listener: (call: { args: A[] }) => void): this;
  }
}
