/**
 * dns.outageServedAfterRestart: 20 destinations located once by an instance linked to a context store; it stops; every
 * nameserver goes silent; a new instance on the same store (empty DNS cache) locates all 20: the share answered.
 */
import type * as dnsPacket from 'dns-packet';
import { createLocator, type SipLocator } from '../../src/core/locator';
import { createContextStore, type ContextLike } from '../../src/store/context';
import { linkStore, type StoreLink } from '../../src/store/link';
import { reply, startFakeDns, type FakeHandler } from '../servers/fake-dns';

/** A fake zone `<zone>`: d<N> has a NAPTR to _sip._udp.d<N> (SRV to h.d<N>, A 127.0.0.1), all with TTL 5; silent while dead(). */
export function outageZone(zone: string, dead: () => boolean): FakeHandler {
  const pattern = new RegExp(`^(?:_sip\\._udp\\.)?(d\\d+)\\.${zone.replace(/\./g, '\\.')}$`);
  return (q) => {
    if (dead()) return [];
    const name = q.name.toLowerCase();
    const d = pattern.exec(name)?.[1];
    if (q.type === 'NAPTR' && d && !name.startsWith('_'))
      return [
        reply(q, {
          answers: [
            {
              type: 'NAPTR',
              name: q.name,
              ttl: 5,
              data: {
                order: 10,
                preference: 10,
                flags: 's',
                services: 'SIP+D2U',
                regexp: '',
                replacement: `_sip._udp.${d}.${zone}`,
              },
            },
          ],
        }),
      ];
    if (q.type === 'SRV' && d)
      return [
        reply(q, {
          answers: [
            {
              type: 'SRV',
              name: q.name,
              ttl: 5,
              data: { priority: 10, weight: 1, port: 5060, target: `h.${d}.${zone}` },
            },
          ],
        }),
      ];
    if (q.type === 'A' && name.startsWith('h.'))
      return [reply(q, { answers: [{ type: 'A', name: q.name, ttl: 5, data: '127.0.0.1' }] })];
    return [reply(q, {})];
  };
}

/** A Map standing in for a Node-RED context store (values copied as a file store would). */
function mapContext(): ContextLike {
  const data = new Map<string, string>();
  return {
    get: (key, _store, cb) => setImmediate(() => cb(null, data.has(key) ? JSON.parse(data.get(key)!) : undefined)),
    set: (key, value, _store, cb) =>
      setImmediate(() => {
        data.set(key, JSON.stringify(value));
        cb(null);
      }),
  };
}

async function linked(nameserver: string, context: ContextLike): Promise<{ locator: SipLocator; link: StoreLink }> {
  const locator = createLocator({
    nameservers: [nameserver],
    transports: ['udp'],
    family: 'ipv4',
    timeoutMs: 500,
    tries: 2,
  });
  const link = linkStore(
    locator,
    createContextStore(context, { snapshot: () => ({ ...locator.state(), plans: locator.savedPlans() }) }),
  );
  while (link.status().state !== 'up') await new Promise((r) => setImmediate(r));
  return { locator, link };
}

/** The share of locates answered after the restart, how many, and how long they took in all (ms). */
export async function outageAfterRestart(): Promise<{ served: number; locates: number; realMs: number }> {
  let dead = false;
  const fake = await startFakeDns(outageZone('restart.test', () => dead));
  const context = mapContext();
  const uris = Array.from({ length: 20 }, (_, i) => `sip:d${i}.restart.test`);
  const before = await linked(fake.nameserver, context);
  await Promise.all(uris.map((u) => before.locator.locate(u)));
  await before.link.close();
  before.locator.close();
  dead = true;
  const t0 = performance.now();
  const after = await linked(fake.nameserver, context);
  const results = await Promise.allSettled(uris.map((u) => after.locator.locate(u)));
  const realMs = Math.round(performance.now() - t0);
  const served = results.filter((r) => r.status === 'fulfilled' && r.value.stale).length / results.length;
  await after.link.close();
  after.locator.close();
  await fake.stop();
  return { served: Math.round(served * 100) / 100, locates: results.length, realMs };
}
