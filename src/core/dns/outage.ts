/** Error codes that mean no nameserver gave an answer (NXDOMAIN and NODATA are answers): what stale data may stand in for. */
export const OUTAGE_CODES: ReadonlySet<string> = new Set(['ETIMEOUT', 'ESERVFAIL', 'EREFUSED', 'ECONNREFUSED', 'ENOTIMP', 'EFORMERR', 'EBADRESP', 'EOVERLOAD']);
