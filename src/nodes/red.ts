/** The parts of the Node-RED runtime API these nodes use (typed here so the package needs no @types/node-red). */

/** A node status. */
export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

/** A Node-RED message. */
export type NodeMessage = Record<string, unknown> & { _msgid?: string };

/** A node instance as the runtime creates it. */
export interface RedNode {
  id: string;
  type: string;
  name?: string;
  z?: string;
  on(event: 'input', handler: (msg: NodeMessage, send: (msgs: Array<NodeMessage | null>) => void, done: (err?: Error) => void) => void): void;
  on(event: 'close', handler: (removed: boolean, done: () => void) => void): void;
  status(status: NodeStatus): void;
  /** Sends outside an input handler (one entry per output); optional in this typing so test doubles need not have it. */
  send?(msgs: Array<NodeMessage | null>): void;
  log(msg: string): void;
  warn(msg: string): void;
  error(err: string | Error, msg?: NodeMessage): void;
}

/** The RED object handed to a node module. */
export interface Red {
  nodes: {
    createNode(node: object, config: object): void;
    registerType(type: string, ctor: (this: RedNode, config: never) => void, opts?: object): void;
    getNode(id: string): RedNode | null;
  };
  util: {
    evaluateNodeProperty(value: string, type: string, node: RedNode, msg: NodeMessage, callback: (err: Error | null, result: unknown) => void): void;
    getMessageProperty(msg: NodeMessage, expr: string): unknown;
  };
  _: (key: string, subs?: Record<string, unknown>) => string;
  log: { warn(msg: string): void; info(msg: string): void };
  httpAdmin: {
    get(path: string, ...handlers: Array<(req: HttpRequest, res: HttpResponse, next: () => void) => void>): void;
    post(path: string, ...handlers: Array<(req: HttpRequest, res: HttpResponse, next: () => void) => void>): void;
  };
  auth: { needsPermission(permission: string): (req: HttpRequest, res: HttpResponse, next: () => void) => void };
  settings?: Record<string, unknown>;
  /** The editor websocket: publish(topic, data, retain). */
  comms?: { publish(topic: string, data: unknown, retain?: boolean): void };
  /** Editor plugins (the runtime side of the SIP sidebar). */
  plugins?: { registerPlugin(id: string, definition: { type: string; onadd?: () => void }): void };
}

/** The admin HTTP request as express hands it over. */
export interface HttpRequest {
  params: Record<string, string>;
  body?: unknown;
  query?: Record<string, unknown>;
}

/** The admin HTTP response as express hands it over. */
export interface HttpResponse {
  status(code: number): HttpResponse;
  json(body: unknown): void;
  /** Sets a header (express). */
  set?(name: string, value: string): HttpResponse;
  /** Sends a body as is (express). */
  send?(body: string): void;
}
