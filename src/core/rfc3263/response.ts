import { isIP } from 'node:net';
import { SipLocateError } from '../errors';
import type { DnsQuerier } from '../dns/types';
import type { FamilyPolicy, Target, Transport } from '../types';
import { parseSipUri, parseVia } from '../uri';
import { withAddressing } from '../target';
import { buildPlan } from './locate';
import { planTargets } from './plan';
import { isTransport } from './transports';

/** Options of locateResponse(). */
export interface ResponseOptions {
  family?: FamilyPolicy;
  random?: () => number;
}

const RELIABLE: ReadonlySet<Transport> = new Set<Transport>(['tcp', 'tls', 'sctp', 'ws', 'wss']);

/**
 * RFC 3263 section 5 (with RFC 3261 18.2.2 and RFC 3581): where to send a response, from the top Via value.
 * Reliable transports reuse the connection first; these targets are for when it is gone.
 */
export async function locateResponse(
  via: string,
  querier: DnsQuerier,
  options: ResponseOptions = {},
): Promise<Target[]> {
  const v = parseVia(via);
  if (!isTransport(v.transport)) {
    throw new SipLocateError('EINVALIDVIA', `The Via transport "${v.transport}" is not one this package supports.`, {
      transport: v.transport,
    });
  }
  const transport = v.transport;
  const family = options.family ?? 'ipv4-first';
  const random = options.random ?? Math.random;
  const numeric = (address: string, port: number | undefined): Target[] => [
    withAddressing({
      transport,
      address,
      port: port ?? (transport === 'tls' ? 5061 : 5060),
      family: isIP(address) === 6 ? 6 : 4,
      host: address,
      source: 'numeric',
      ttl: 0,
    }),
  ];
  if (v.maddr !== undefined) {
    if (isIP(v.maddr)) return numeric(v.maddr, v.port);
    return resolve(`sip:${v.maddr}${v.port ? ':' + v.port : ''};transport=${transport}`);
  }
  if (v.received !== undefined) {
    const port = !RELIABLE.has(transport) && typeof v.rport === 'number' ? v.rport : v.port;
    return numeric(v.received, port);
  }
  if (v.hostKind !== 0)
    return numeric(v.host, typeof v.rport === 'number' && !RELIABLE.has(transport) ? v.rport : v.port);
  return resolve(`sip:${v.host}${v.port ? ':' + v.port : ''};transport=${transport}`);

  async function resolve(uri: string): Promise<Target[]> {
    const { plan } = await buildPlan(parseSipUri(uri), {
      querier,
      transports: [transport],
      family,
      naptrNoMatch: 'fail',
      trace: false,
    });
    return planTargets(plan, family, random, 32);
  }
}
