import { SipLocateError } from '../errors';
import type { DnsAnswer, DnsQuerier, QueryOptions, RecordType } from '../dns/types';
import type { StaticTable } from './static-records';

/** The `nameserver` of answers that came from static records. */
export const STATIC_NAMESERVER = 'static';

/**
 * A querier that answers from static records before DNS: a name that has static records is answered only from
 * them (a type it lacks is NODATA); every other name goes to the inner querier.
 */
export function withStaticRecords(inner: DnsQuerier, table: StaticTable): DnsQuerier {
  if (table.size === 0) return inner;
  const local = <T extends RecordType>(name: string, type: T): DnsAnswer<T> | SipLocateError | undefined => {
    const key = name.toLowerCase().replace(/\.$/, '');
    const byType = table.get(key);
    if (!byType) return undefined;
    const records = byType.get(type);
    if (!records || records.length === 0)
      return new SipLocateError('ENODATA', `The static records define ${key} but no ${type} record for it.`, {
        name: key,
        type,
      });
    const ttl = Math.min(...records.map((r) => r.ttl));
    return {
      name: key,
      type,
      canonicalName: key,
      records: records.map((r) => ({ ...r })) as DnsAnswer<T>['records'],
      ttl,
      fromCache: true,
      trust: 'answer',
      nameserver: STATIC_NAMESERVER,
    };
  };
  return {
    query<T extends RecordType>(name: string, type: T, options?: QueryOptions): Promise<DnsAnswer<T>> {
      const hit = local(name, type);
      if (hit === undefined) return inner.query(name, type, options);
      return hit instanceof SipLocateError ? Promise.reject(hit) : Promise.resolve(hit);
    },
    peek<T extends RecordType>(name: string, type: T): DnsAnswer<T> | SipLocateError | undefined {
      return local(name, type) ?? inner.peek(name, type);
    },
  };
}
