// Failure reports from outside the flow: any query string gives a checked report or a clear EINVALIDMSG (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseReport, readReportedTarget } from '../../src/core/failover/report';
import { SipLocateError } from '../../src/core/errors';
import { isTransport } from '../../src/core/rfc3263/transports';

const fromQuery = (q: string): Record<string, string> => Object.fromEntries(new URLSearchParams(q));

test("a proxy's query string becomes a typed report", () => {
  const r = parseReport(
    fromQuery(
      'uri=sip%3Aalice%40example.test&failed=udp%3A192.0.2.1%3A5060&tried=udp:192.0.2.2:5060,tcp:[2001:DB8::0:1]:5070&status=503&retry_after=30',
    ),
  );
  assert.ok(!(r instanceof SipLocateError), r instanceof SipLocateError ? r.message : 'a report');
  assert.deepEqual(r, {
    uri: 'sip:alice@example.test',
    failed: { transport: 'udp', address: '192.0.2.1', port: 5060 },
    tried: [
      { transport: 'udp', address: '192.0.2.2', port: 5060 },
      { transport: 'tcp', address: '2001:db8::1', port: 5070 },
    ],
    ok: false,
    status: 503,
    retryAfter: 30,
  });
  const ok = parseReport({ uri: 'sip:a.test', target: 'sips:[2001:db8::1]:5061;transport=tcp', ok: '1' });
  assert.ok(!(ok instanceof SipLocateError));
  assert.deepEqual([ok.ok, ok.failed], [true, { transport: 'tls', address: '2001:db8::1', port: 5061 }]);
  const typed = parseReport({
    uri: 'sip:a.test',
    failed: { transport: 'tcp', address: '192.0.2.9', port: 5060 },
    tried: ['udp:192.0.2.1:5060'],
    reason: 'timeout',
  });
  assert.ok(!(typed instanceof SipLocateError));
  assert.equal(typed.reason, 'timeout');
});

test('target names: keys, uris (sips: means TLS or WSS), objects; anything else is refused', () => {
  assert.deepEqual(readReportedTarget('wss:[::1]:443'), { transport: 'wss', address: '::1', port: 443 });
  assert.deepEqual(readReportedTarget('sip:192.0.2.1:5060;transport=udp'), {
    transport: 'udp',
    address: '192.0.2.1',
    port: 5060,
  });
  assert.deepEqual(readReportedTarget('sips:192.0.2.1:443;transport=ws'), {
    transport: 'wss',
    address: '192.0.2.1',
    port: 443,
  });
  for (const bad of [
    'udp:example.test:5060',
    'udp:192.0.2.1',
    'udp:192.0.2.1:0',
    'udp:192.0.2.1:70000',
    'xyz:192.0.2.1:5060',
    'sips:192.0.2.1:5060;transport=udp',
    'udp:999.0.0.1:5060',
    '',
    5060,
    null,
    ['udp:192.0.2.1:5060'],
  ]) {
    assert.equal(readReportedTarget(bad), undefined, JSON.stringify(bad));
  }
});

test('each missing or bad field gets its own sentence', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ failed: 'udp:192.0.2.1:5060' }, /no uri/],
    [{ uri: 'sip:a.test' }, /names no target/],
    [{ uri: 'sip:a.test', failed: 'somewhere' }, /"somewhere" is not a target/],
    [
      { uri: 'sip:a.test', failed: 'udp:192.0.2.1:5060', status: '5o3' },
      /status must be a whole number from 100 to 699/,
    ],
    [{ uri: 'sip:a.test', failed: 'udp:192.0.2.1:5060', status: '700' }, /status/],
    [{ uri: 'sip:a.test', failed: 'udp:192.0.2.1:5060', retry_after: '-1' }, /retryAfter/],
    [{ uri: 'sip:a.test', failed: 'udp:192.0.2.1:5060', reason: '503' }, /reason must be "transport" or "timeout"/],
    [{ uri: 'sip:a.test', failed: 'udp:192.0.2.1:5060', tried: 'udp:192.0.2.1:5060,nope' }, /tried list holds "nope"/],
    [{ uri: 'sip:a.test', failed: 'udp:192.0.2.1:5060', tried: Array(65).fill('udp:192.0.2.1:5060') }, /at most 64/],
    [{ uri: ['sip:a.test', 'sip:b.test'], failed: 'udp:192.0.2.1:5060' }, /uri must be given once/],
    [{ uri: 'sip:a.test', failed: 'udp:192.0.2.1:5060', ok: 'maybe' }, /ok must be true or false/],
  ];
  for (const [input, words] of cases) {
    const r = parseReport(input);
    assert.ok(r instanceof SipLocateError && r.code === 'EINVALIDMSG', JSON.stringify(input));
    assert.match(r.message, words);
  }
});

test('property: any query string (and any value) gives a valid report or an EINVALIDMSG sentence, never a throw', () => {
  const key = fc.oneof(
    fc.constantFrom('uri', 'failed', 'target', 'tried', 'status', 'retryAfter', 'retry_after', 'reason', 'ok'),
    fc.string({ maxLength: 8 }),
  );
  const value = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.constantFrom(
      'sip:a.test',
      'udp:192.0.2.1:5060',
      'tls:[2001:db8::1]:5061',
      'sip:[::1]:5060;transport=udp',
      '503',
      '30',
      'true',
      'timeout',
      'udp:192.0.2.1:5060,tcp:192.0.2.2:5060',
    ),
    fc.integer({ min: -10, max: 100000 }).map(String),
  );
  const queryString = fc
    .array(fc.tuple(key, value), { maxLength: 10 })
    .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
  fc.assert(
    fc.property(fc.oneof(queryString, fc.string({ maxLength: 200 })), (q) => check(parseReport(fromQuery(q)))),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.anything(), (v) => check(parseReport(v))),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.dictionary(key, fc.anything(), { maxKeys: 8 }), (v) => check(parseReport(v))),
    { numRuns: 2000 },
  );
});

function check(r: ReturnType<typeof parseReport>): boolean {
  if (r instanceof SipLocateError) {
    assert.equal(r.code, 'EINVALIDMSG');
    assert.match(r.message, /^The report|^A failure report/);
    assert.ok(r.message.length < 300);
    return true;
  }
  assert.equal(typeof r.uri, 'string');
  assert.ok(isTransport(r.failed.transport) && r.failed.port >= 1 && r.failed.port <= 65535);
  assert.ok(r.tried.length <= 64);
  if (r.status !== undefined) assert.ok(Number.isInteger(r.status) && r.status >= 100 && r.status <= 699);
  if (r.retryAfter !== undefined) assert.ok(Number.isInteger(r.retryAfter) && r.retryAfter >= 0);
  if (r.reason !== undefined) assert.ok(r.reason === 'transport' || r.reason === 'timeout');
  return true;
}
