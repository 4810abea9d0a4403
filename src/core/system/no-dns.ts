import { SipLocateError } from '../errors';
import type { DnsAnswer, DnsQuerier, RecordType } from '../dns/types';

/** A querier for when no nameserver is known: every question fails with ENONAMESERVER (the OS may still answer addresses). */
export function noDnsQuerier(path: string): DnsQuerier {
  return {
    query<T extends RecordType>(name: string, type: T): Promise<DnsAnswer<T>> {
      return Promise.reject(
        new SipLocateError(
          'ENONAMESERVER',
          `No nameserver is configured and the system lists none (${path}); ${type} ${name} cannot be asked.`,
          { name, type, path },
        ),
      );
    },
    peek(): undefined {
      return undefined;
    },
  };
}
