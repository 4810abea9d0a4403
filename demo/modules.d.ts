// Types of the demo's plain JavaScript modules, for the tests that import them.
declare module '*/demo/node-red.mjs' {
  export function exampleFlows(): Promise<unknown[]>;
  export function startNodeRed(
    o: Record<string, unknown>,
  ): Promise<{ url: string; adminUrl: string; pid: number; stop(): Promise<void>; log(): string }>;
}
declare module '*/demo/dns-server.mjs' {
  export function demoZone(origin: string, endpoints: Record<string, { address: string; port: number }>): unknown[];
  export function startZoneServer(o: {
    address?: string;
    port?: number;
    origin: string;
    records: unknown[];
  }): Promise<{ address: string; port: number; nameserver: string; queries: number; stop(): Promise<void> }>;
}
declare module '*/demo/sip-endpoints.mjs' {
  type Endpoint = { address: string; port: number; behaviour: string; requests: number; stop(): Promise<void> };
  export function startEndpoint(o: {
    address: string;
    port?: number;
    behaviour: 'ok' | 'busy' | 'silent';
  }): Promise<Endpoint>;
  export function startDemoEndpoints(
    port?: number,
  ): Promise<Record<'healthy' | 'healthy2' | 'busy' | 'silent', Endpoint>>;
}
declare module '*/demo/ports.mjs' {
  export const DEMO_SIP_NAMES: string[];
  export function demoPorts(env?: Record<string, string | undefined>): {
    port: number;
    dnsPort: number;
    sipPort: number;
    redisPort: number;
  };
}
