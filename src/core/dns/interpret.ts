/** What one server's reply to a question means: the answer (NOERROR, NXDOMAIN), or the error its rcode or failure gives. */
import { SipLocateError, type ErrorCode } from '../errors';
import type { Reply } from './codec';
import type { ExchangeOutcome } from './exchange';
import type { Nameserver } from './nameservers';
import type { RecordType } from './types';

const RCODE_ERRORS: Record<string, ErrorCode> = {
  SERVFAIL: 'ESERVFAIL',
  REFUSED: 'EREFUSED',
  NOTIMP: 'ENOTIMP',
  FORMERR: 'EFORMERR',
};

/** The reply of `ns` to the question (type, qname) as an answer, or as the SipLocateError that names its rcode or failure. */
export function interpretOutcome(
  outcome: ExchangeOutcome,
  ns: Nameserver,
  qname: string,
  type: RecordType,
): Reply | SipLocateError {
  const details = { name: qname, type, nameserver: ns.label };
  const q = `${type} ${qname}`;
  switch (outcome.kind) {
    case 'reply': {
      const rcode = outcome.reply.rcode;
      if (rcode === 'NOERROR' || rcode === 'NXDOMAIN') return outcome.reply;
      const code = RCODE_ERRORS[rcode] ?? 'EBADRESP';
      return new SipLocateError(code, `The nameserver ${ns.label} answered ${rcode} for ${q}.`, details);
    }
    case 'refused':
      return new SipLocateError('ECONNREFUSED', `The nameserver ${ns.label} refused the connection for ${q}.`, details);
    case 'malformed':
      return new SipLocateError(
        'EBADRESP',
        `The nameserver ${ns.label} sent a malformed reply for ${q} (${outcome.reason}).`,
        details,
      );
    case 'neterror':
      return new SipLocateError('EBADRESP', `No usable reply from ${ns.label} for ${q}: ${outcome.message}.`, details);
    default:
      return new SipLocateError('EBADRESP', `No usable reply from ${ns.label} for ${q}.`, details);
  }
}
