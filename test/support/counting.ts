/**
 * DNS options for tests that count questions: the classic timer (timeoutMs, 2 s by default), so a server slowed by a
 * busy machine is not asked twice. Spread it into createDnsClient(), createLocator() or createTestLocator() options.
 */
export const COUNTED = { adaptive: false } as const;
