/**
 * Error codes that mean "no nameserver gave an answer" (an outage), as against NXDOMAIN/NODATA, which are answers:
 * the codes after which stale data may be served (RFC 8767) and a locator may keep what it knew.
 */
export const OUTAGE_CODES: ReadonlySet<string> = new Set([
  'ETIMEOUT',
  'ESERVFAIL',
  'EREFUSED',
  'ECONNREFUSED',
  'ENOTIMP',
  'EFORMERR',
  'EBADRESP',
  'EOVERLOAD',
]);
