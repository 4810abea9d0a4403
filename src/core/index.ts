/**
 * Public API of node-red-contrib-sip-locate's resolver library: what a SIP application needs, by name.
 * The README's "The library" section lists these exports; test/core/public-exports.test.ts keeps the two equal.
 */
export { createLocator } from './locator';
/** Options of createLocator(). */
export type { CreateLocatorOptions as LocatorOptions } from './locator';
/** A locator: locate, failover, marks and pins, state changes, DNS counters and events. */
export type { SipLocator as Locator } from './locator';
export { SipLocateError, isSipLocateError, type ErrorCode } from './errors';
export type {
  Transport,
  FamilyPolicy,
  FailureReason,
  Failure,
  TargetKey,
  Target,
  SipUri,
  TraceNode,
  LocateResult,
  EnumResult,
  LocateOptions,
  MarkRecord,
  PinRecord,
  LocatorState,
  StateChange,
  FailoverState,
  ReportOptions,
  ReportResult,
  Clock,
  AdminRecord,
  AdminState,
  PlanRecord,
  PlanRecordEntry,
  PlanHostRecord,
  DestinationOrder,
  SetMember,
  SetMemberResult,
} from './types';
/** What a locator has counted (Locator.counters()). */
export type { LocatorCounters } from './locator';
/** Probe health as a locator keeps it (Locator.health, Locator.probed()). */
export type { Health, HealthRecord, HealthState, HealthSettings, ProbeOutcome } from './failover/health';
export { createDnsClient } from './dns/client';
export type {
  RecordType,
  NaptrData,
  SrvData,
  DnsRecord,
  DnsAnswer,
  DnsQuerier,
  QueryOptions,
  QueryEvent,
  Trust,
  DnsClient,
  DnsClientOptions,
  DnsClientStats,
  NameserverState,
} from './dns/types';
export type { TimerState } from './dns/rto';
export { locateResponse, type ResponseOptions } from './rfc3263/response';
export { parseSipUri, parseVia, type ViaHeader } from './uri';
export { parseTelUri, type TelNumber } from './enum/tel';
export { parseFailoverCodes, type FailoverPolicy } from './failover/policy';
export { parseReport, type FailureReport } from './failover/report';
export type { EventHub, ResolverEvent, ResolverEventOp } from './events';
