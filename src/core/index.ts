/** Public API of node-red-contrib-sip-locate's resolver library. */
export * from './errors';
export * from './types';
export type { RecordType, NaptrData, SrvData, DnsRecord, DnsAnswer, DnsQuerier, QueryOptions, QueryEvent, Trust, DnsClient, DnsClientOptions, DnsClientStats, NameserverState } from './dns/types';
export { createDnsClient } from './dns/client';
export { parseNameserver } from './dns/nameservers';
export { createLocator, type CreateLocatorOptions, type SipLocator } from './locator';
export { locateResponse, type ResponseOptions } from './rfc3263/response';
export { parseSipUri, parseVia, destinationKey, type ViaHeader } from './uri';
export { parseTelUri, type TelNumber } from './enum/tel';
export { TRANSPORTS, type TransportInfo } from './rfc3263/transports';
export { orderSrv } from './rfc3263/srv';
export { parseFailoverCodes, DEFAULT_FAILOVER_CODES, type FailoverPolicy } from './failover/policy';
export { parseReport, type FailureReport } from './failover/report';
export { targetUri, targetKeyText } from './target-address';
export { EventHub, RESOLVER_EVENT_OPS, type ResolverEvent, type ResolverEventOp } from './events';
