declare module 'node-red-node-test-helper' {
  type Flow = Array<Record<string, unknown>>;
  interface TestNode {
    id: string;
    receive(msg: Record<string, unknown>): void;
    on(event: string, cb: (arg: any) => void): void;
    [key: string]: any;
  }
  interface Helper {
    init(nodeRedPath: string, settings?: Record<string, unknown>): void;
    settings(s: Record<string, unknown>): void;
    load(nodes: unknown, flow: Flow, credentials?: Record<string, unknown>): Promise<void>;
    unload(): Promise<void>;
    setFlows(flow: Flow, type: string, credentials?: Record<string, unknown>): Promise<void>;
    getNode(id: string): TestNode;
    startServer(): Promise<void>;
    stopServer(): Promise<void>;
    url(): string;
    request(): any;
  }
  const helper: Helper;
  export = helper;
}
