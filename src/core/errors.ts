/** Stable error codes. Codes never change meaning once published; add new ones instead. */
export type ErrorCode =
  // input
  | 'EINVALIDURI' // not a usable sip:/sips: URI
  | 'EINVALIDVIA' // not a usable Via header value
  | 'EINVALIDNAME' // a DNS name that cannot be queried (label > 63, name > 255, bad bytes)
  | 'EINVALIDOPTION' // a locator or client option out of range
  | 'EINVALIDNAMESERVER' // a nameserver string that is not ip, ip:port or [ipv6]:port
  | 'EINVALIDMSG' // a Node-RED message that lacks what a node needs
  // DNS outcomes
  | 'ENOTFOUND' // NXDOMAIN
  | 'ENODATA' // the name exists but has no record of that type
  | 'ETIMEOUT' // no usable reply within the attempt budget (DNS), or no final SIP response in time (sip-options)
  | 'ESERVFAIL' // every nameserver answered SERVFAIL
  | 'EREFUSED' // every nameserver answered REFUSED
  | 'ENOTIMP' // every nameserver answered NOTIMP
  | 'EFORMERR' // the nameserver could not parse our query, even without EDNS
  | 'EBADRESP' // every reply was malformed
  | 'ECONNREFUSED' // every nameserver, or the SIP target, refused the connection (ICMP port unreachable / RST)
  | 'ECNAMELOOP' // a CNAME chain that loops or is too long
  | 'ENONAMESERVER' // no nameserver configured and none found in /etc/resolv.conf
  | 'ECANCELLED' // the caller aborted
  | 'EOVERLOAD' // too much work waiting: the DNS client's queue, the monitored targets or the UDP probes in flight are at their bound
  | 'ECLOSED' // the client or locator was closed
  // RFC 3263 outcomes
  | 'ENOTRANSPORT' // SIP NAPTRs exist but none names an enabled transport; or sip-options cannot send over the target's transport
  | 'ENOSERVICE' // SRV says the service is decidedly not available (target ".")
  | 'ENOADDRESS' // SRV records exist but no target has an address
  | 'EEXHAUSTED' // every target was tried and failed
  | 'ESETFAILED' // every member of a destination set failed to resolve (details.members holds each member's code)
  // failover
  | 'ENOFAILOVER' // the status code is not in failoverCodes: an answer, not a reason to try the next target
  | 'ENOTATARGET' // a failure report names a target that is not one of the destination's current targets
  | 'EBUDGET' // the resolution asked maxQueriesPerLocate questions and found no target within them
  // ENUM (RFC 6116)
  | 'ENOENUM' // no ENUM suffix gives a usable sip: URI for the number, and no enumFallback is set
  // SIP probes (sip-options)
  | 'E503' // the target answered 503 Service Unavailable
  | 'ECONNRESET' // the connection to the target was reset or closed before a final response
  | 'ETRANSPORT' // sending to the target failed otherwise (unreachable network, TLS handshake or certificate)
  | 'EBADMSG' // the target sent something that is not a SIP response
  // state stores
  | 'ESTOREDOWN' // the state store (context store or Redis) cannot be reached; marks and pins live in memory meanwhile
  | 'ESTORETIMEOUT' // the state store did not answer in time
  | 'ESTORERECORD' // the state store holds or sent a record that is not a valid mark, pin or change
  // the runtime
  | 'ENOTDEPLOYED' // an admin request names a sip-resolver that is not deployed
  | 'EINTERNAL'; // an unexpected failure: a bug, please report it

/** The one error class of the package: a stable `code` plus a sentence a user understands. */
export class SipLocateError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Optional structured context (query name, type, nameserver, ...). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SipLocateError';
    this.code = code;
    this.details = details;
  }

  /** Plain JSON form used in messages and CLI output. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** True when `err` is a SipLocateError (optionally with the given code). */
export function isSipLocateError(err: unknown, code?: ErrorCode): err is SipLocateError {
  return err instanceof SipLocateError && (code === undefined || err.code === code);
}

/** Wraps anything thrown into a SipLocateError: known ones as they are, anything else EINTERNAL (nodes and CLI alike). */
export function unexpected(err: unknown): SipLocateError {
  return toSipLocateError(err, 'EINTERNAL', `Unexpected failure: ${err instanceof Error ? err.message : String(err)}`);
}

/** Wraps anything thrown into a SipLocateError, keeping known ones as they are. */
export function toSipLocateError(err: unknown, fallback: ErrorCode, message: string): SipLocateError {
  if (err instanceof SipLocateError) return err;
  return new SipLocateError(fallback, message, {}, { cause: err });
}
