// Bounded work per lookup (maxQueriesPerLocate) against a real NSD serving a 64 NAPTR x 64 SRV zone.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import { SipLocateError } from '../../src/core/errors';
import { MAX_COPIES } from '../../src/core/dns/slots';
import { until } from '../support/wait';
import { skipUnless } from '../servers/dns-servers';
import { notes, nsdWithProxy } from '../system/harness';
import { FANOUT_ORIGIN, fanoutZoneText } from './fanout-zone';
import { COUNTED } from '../support/counting';

describe('maxQueriesPerLocate against NSD and a 64 x 64 zone', { skip: skipUnless('nsd') }, () => {
  const served = nsdWithProxy([{ origin: FANOUT_ORIGIN, text: fanoutZoneText() }]);

  test('the default budget: at most 64 questions reach the server, the targets found so far come back with a trace note', async () => {
    served.proxy.reset();
    const l = createLocator({
      ...COUNTED,
      nameservers: [served.proxy.nameserver],
      timeoutMs: 1000,
      tries: 2,
      transports: ['udp'],
    });
    try {
      const r = await l.locate('sip:amp.test', { trace: true });
      // TCP connections repeat truncated UDP questions (64-record RRsets), and retransmissions repeat a question
      // on its socket when a busy machine answers later than the timer: they ask nothing new.
      assert.ok(served.proxy.udpQueries <= 64 * MAX_COPIES, `sent ${served.proxy.udpQueries} UDP queries`);
      assert.ok(new Set(served.proxy.questions.map((q) => q.toLowerCase())).size <= 64);
      assert.ok(served.proxy.udpQueries >= 30, `expanded until the budget: ${served.proxy.udpQueries} queries`);
      assert.ok(r.targets.length > 0);
      assert.ok(r.targets.every((t) => t.address === '127.0.20.1' && t.transport === 'udp'));
      const text = notes(r.trace);
      assert.ok(
        text.some((n) => n.includes('Stopped after 64 DNS questions')),
        text.join('\n'),
      );
      assert.ok(
        text.some((n) => n.includes('the first 16 by preference are followed')),
        'the NAPTR set limit is noted',
      );
      assert.ok(
        text.some((n) => n.includes('the addresses of the first 16 of an RFC 2782 draw')),
        'the SRV host limit is noted',
      );
    } finally {
      l.close();
      // Copies sent just before close() reach the proxy a moment later: let them land before the next test counts.
      const sent = l.dns!.stats().udpAttempts;
      await until(() => served.proxy.udpQueries >= sent, 'the proxy received every copy sent');
    }
  });

  test('a budget of 10: exactly 10 distinct questions, targets from the lowest SRV priorities', async () => {
    served.proxy.reset();
    const l = createLocator({
      ...COUNTED,
      nameservers: [served.proxy.nameserver],
      timeoutMs: 1000,
      tries: 2,
      transports: ['udp'],
      maxQueriesPerLocate: 10,
    });
    try {
      const r = await l.locate('sip:amp.test');
      const asked = [...new Set(served.proxy.questions.map((q) => q.toLowerCase()))];
      assert.equal(asked.length, 10, asked.join(', '));
      // NAPTR, the prefetched _sip._udp SRV, SRV of n0, then A+AAAA of h0..h3-n0 (priorities 0..3).
      assert.deepEqual(asked.filter((q) => q.startsWith('a ')).sort(), [
        'a h0-n0.amp.test',
        'a h1-n0.amp.test',
        'a h2-n0.amp.test',
        'a h3-n0.amp.test',
      ]);
      assert.deepEqual(
        r.targets.map((t) => `${t.address}:${t.port}`),
        ['127.0.20.1:5060'],
      );
    } finally {
      l.close();
    }
  });

  test('a budget spent before any address was found fails with EBUDGET', async () => {
    const l = createLocator({
      ...COUNTED,
      nameservers: [served.proxy.nameserver],
      timeoutMs: 1000,
      tries: 2,
      transports: ['udp'],
      maxQueriesPerLocate: 3,
    });
    try {
      await assert.rejects(
        l.locate('sip:few.amp.test'),
        (err: unknown) =>
          err instanceof SipLocateError && err.code === 'EBUDGET' && /more than 3 DNS questions/.test(err.message),
      );
    } finally {
      l.close();
    }
  });

  test('maxQueriesPerLocate out of range is EINVALIDOPTION', () => {
    assert.throws(
      () => createLocator({ nameservers: ['127.0.0.1'], maxQueriesPerLocate: 0 }),
      (err: unknown) => err instanceof SipLocateError && err.code === 'EINVALIDOPTION',
    );
  });
});
