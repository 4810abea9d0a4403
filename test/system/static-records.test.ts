// Static records: the zone-file line parser (errors name the line, nothing else is thrown) and answers before DNS (real NSD).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseStaticRecords, MAX_STATIC_RECORDS } from '../../src/core/system/static-records';
import { createLocator } from '../../src/core/locator';
import { SipLocateError } from '../../src/core/errors';
import type { TraceNode } from '../../src/core/types';
import { skipUnless, zonePath } from '../servers/dns-servers';
import { flatten, nsdWithProxy } from './harness';
import { COUNTED } from '../support/counting';

const LINES = [
  '; lab PBX',
  'pbx.example.com. 60 IN SRV 10 50 5060 a.example.com.',
  'a.example.com. IN A 192.0.2.10',
  'a.example.com. IN 120 AAAA 2001:DB8::10',
  'pbx.example.com. NAPTR 10 20 "S" "SIP+D2U" "" _sip._udp.pbx.example.com.',
  '_sip._udp.pbx.example.com. 30 SRV 0 0 5062 a.example.com',
].join('\n');

function codeAndLine(input: unknown): string {
  try {
    parseStaticRecords(input);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof SipLocateError);
    return `${err.code} ${typeof err.details.line === 'number' || typeof err.details.line === 'string' ? err.details.line : ''}`.trim();
  }
}

test('zone-file lines: owner, optional TTL and class in either order, A, AAAA, SRV, NAPTR', () => {
  const t = parseStaticRecords(LINES);
  assert.deepEqual(t.get('pbx.example.com')!.get('SRV'), [
    {
      name: 'pbx.example.com',
      type: 'SRV',
      ttl: 60,
      data: { priority: 10, weight: 50, port: 5060, target: 'a.example.com' },
    },
  ]);
  assert.deepEqual(t.get('a.example.com')!.get('A'), [
    { name: 'a.example.com', type: 'A', ttl: 300, data: '192.0.2.10' },
  ]);
  assert.deepEqual(t.get('a.example.com')!.get('AAAA'), [
    { name: 'a.example.com', type: 'AAAA', ttl: 120, data: '2001:db8::10' },
  ]);
  assert.deepEqual(t.get('pbx.example.com')!.get('NAPTR')![0]!.data, {
    order: 10,
    preference: 20,
    flags: 'S',
    services: 'SIP+D2U',
    regexp: '',
    replacement: '_sip._udp.pbx.example.com',
  });
  assert.equal(t.get('_sip._udp.pbx.example.com')!.get('SRV')![0]!.ttl, 30);
});

test('parse errors are EINVALIDOPTION and name the line', () => {
  assert.equal(codeAndLine('a.example.com. IN A 192.0.2.10\n\nb.example.com. IN A 300.1.1.1'), 'EINVALIDOPTION 3');
  assert.equal(codeAndLine('x.example. IN MX 10 mail.example.'), 'EINVALIDOPTION 1');
  assert.equal(codeAndLine('x.example. IN SRV 10 50 70000 a.example.'), 'EINVALIDOPTION 1');
  assert.equal(codeAndLine('x.example. IN NAPTR 10 20 "s "SIP+D2U" "" _sip._udp.x.example.'), 'EINVALIDOPTION 1');
  assert.equal(codeAndLine('x..example. IN A 192.0.2.1'), 'EINVALIDOPTION 1');
  assert.equal(codeAndLine(['a.example. A 192.0.2.1', 'a.example. A']), 'EINVALIDOPTION 2');
  assert.equal(codeAndLine(42), 'EINVALIDOPTION');
  assert.throws(
    () => parseStaticRecords('b.example.com. IN A 300.1.1.1'),
    /staticRecords line 1: "300.1.1.1" is not an IPv4 address/,
  );
});

test(`more than ${MAX_STATIC_RECORDS} records are refused, naming the first line too many`, () => {
  const lines = Array.from({ length: MAX_STATIC_RECORDS + 1 }, (_, i) => `h${i}.example. A 192.0.2.1`);
  assert.equal(codeAndLine(lines.join('\n')), `EINVALIDOPTION ${MAX_STATIC_RECORDS + 1}`);
  assert.equal(parseStaticRecords(lines.slice(0, MAX_STATIC_RECORDS)).size, MAX_STATIC_RECORDS);
});

test('property: any input either parses or fails with EINVALIDOPTION naming a line that exists', () => {
  const token = fc.constantFrom(
    'IN',
    'A',
    'AAAA',
    'SRV',
    'NAPTR',
    '60',
    '"s"',
    '"SIP+D2U"',
    '""',
    '.',
    ';',
    '"',
    '\\',
    '192.0.2.1',
    '::1',
    '5060',
    '-1',
    '99999999999',
  );
  const line = fc
    .array(fc.oneof(token, fc.domain(), fc.string({ maxLength: 12 })), { maxLength: 9 })
    .map((p) => p.join(' '));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 400 }),
        fc.array(line, { maxLength: 20 }).map((ls) => ls.join('\n')),
      ),
      (text) => {
        try {
          const t = parseStaticRecords(text);
          for (const byType of t.values())
            for (const list of byType.values()) for (const r of list) assert.ok(r.ttl >= 0 && r.name.length <= 253);
        } catch (err) {
          assert.ok(err instanceof SipLocateError, String(err));
          assert.equal(err.code, 'EINVALIDOPTION');
          const n = err.details.line;
          assert.ok(typeof n === 'number' && n >= 1 && n <= text.split(/\r?\n/).length);
          assert.match(err.message, new RegExp(`^staticRecords line ${n}: `));
        }
      },
    ),
    { numRuns: 1000 },
  );
});

const outcomes = (node: TraceNode | undefined): string[] =>
  flatten(node).flatMap((n) => (n.type ? [`${n.type} ${n.name} [${n.outcome}]`] : []));

describe('static records answer before DNS (NSD serving example.test)', { skip: skipUnless('nsd') }, () => {
  const served = nsdWithProxy([{ origin: 'example.test', file: zonePath('example.test.zone') }]);

  test('a static NAPTR/SRV/A chain is located without one DNS question and shows [static] in the trace', async () => {
    served.proxy.reset();
    const l = createLocator({
      ...COUNTED,
      nameservers: [served.proxy.nameserver],
      staticRecords: LINES,
      transports: ['udp'],
      addressLookup: 'dns',
    });
    try {
      const r = await l.locate('sip:pbx.example.com', { trace: true });
      assert.deepEqual(
        r.targets.map((t) => `${t.transport} ${t.address}:${t.port}`),
        ['udp 192.0.2.10:5062', 'udp 2001:db8::10:5062'],
      );
      assert.equal(served.proxy.udpQueries, 0);
      assert.deepEqual(outcomes(r.trace), [
        'NAPTR pbx.example.com [static]',
        'SRV _sip._udp.pbx.example.com [static]',
        'A a.example.com [static]',
        'AAAA a.example.com [static]',
      ]);
    } finally {
      l.close();
    }
  });

  test('split horizon: a static A overrides DNS for that name; other names still come from DNS', async () => {
    served.proxy.reset();
    const l = createLocator({
      ...COUNTED,
      nameservers: [served.proxy.nameserver],
      staticRecords: 'sip2.example.test. IN A 192.0.2.77',
      transports: ['udp'],
      addressLookup: 'dns',
    });
    try {
      const r = await l.locate('sip:example.test');
      const addrs = r.targets.map((t) => `${t.address}:${t.port}`);
      assert.ok(addrs.includes('192.0.2.77:5071'), addrs.join(', '));
      assert.ok(!addrs.includes('127.0.0.2:5071'));
      assert.ok(addrs.includes('127.0.0.1:5070'));
      assert.ok(
        !served.proxy.questions.some((q) => q.toLowerCase().endsWith(' sip2.example.test')),
        'no DNS question for the static name',
      );
    } finally {
      l.close();
    }
  });

  test('a bad static record makes createLocator throw EINVALIDOPTION with the line', () => {
    assert.throws(
      () =>
        createLocator({
          nameservers: [served.proxy.nameserver],
          staticRecords: ['ok.example. A 192.0.2.1', 'bad.example. SRV 1 2 3'],
        }),
      (err: unknown) => err instanceof SipLocateError && err.code === 'EINVALIDOPTION' && /line 2/.test(err.message),
    );
  });
});
