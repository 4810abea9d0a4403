/** Public API of node-red-contrib-sip-locate's resolver library. */
export * from './errors';
export * from './types';
export type { RecordType, NaptrData, SrvData, DnsRecord, DnsAnswer, DnsQuerier, QueryOptions, QueryEvent, Trust, DnsClient, DnsClientOptions, DnsClientStats } from './dns/types';
