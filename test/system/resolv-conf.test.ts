// The resolv.conf parser: glibc's reading of search, domain, ndots, timeout, attempts, rotate; bad input is ignored, never thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_IGNORED, MAX_SEARCH_DOMAINS, parseResolvConf } from '../../src/core/system/resolv-conf';

test('a Kubernetes resolv.conf: nameserver, search list, ndots 5, timeout, attempts, rotate', () => {
  const c = parseResolvConf(
    [
      '# generated',
      'nameserver 10.96.0.10',
      'nameserver 2001:db8::53',
      'nameserver fe80::1%eth0',
      'search Default.svc.cluster.local. svc.cluster.local cluster.local',
      'options ndots:5 timeout:2 attempts:3 rotate edns0',
    ].join('\n'),
  );
  assert.deepEqual(c.nameservers, ['10.96.0.10', '[2001:db8::53]:53']);
  assert.deepEqual(c.search, ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
  assert.equal(c.ndots, 5);
  assert.equal(c.timeoutMs, 2000);
  assert.equal(c.attempts, 3);
  assert.equal(c.rotate, true);
  assert.deepEqual(c.ignored, [{ line: 4, why: 'scoped IPv6 nameserver addresses are not used' }]);
});

test('defaults: ndots 1, no search list, no timeout or attempts', () => {
  const c = parseResolvConf('');
  assert.deepEqual(c, { nameservers: [], search: [], ndots: 1, rotate: false, ignored: [] });
});

test('the last of domain and search wins, as in glibc; domain keeps one name', () => {
  assert.deepEqual(parseResolvConf('search a.example b.example\ndomain c.example d.example').search, ['c.example']);
  assert.deepEqual(parseResolvConf('domain c.example\nsearch a.example b.example').search, ['a.example', 'b.example']);
});

test('out-of-range options are capped (ndots 15, timeout 30 s, attempts 5); malformed ones are ignored with the line number', () => {
  const c = parseResolvConf('options ndots:99 timeout:600 attempts:50\noptions ndots:x timeout:\nbogus line');
  assert.equal(c.ndots, 15);
  assert.equal(c.timeoutMs, 30000);
  assert.equal(c.attempts, 5);
  assert.deepEqual(
    c.ignored.map((i) => i.line),
    [2, 2, 3],
  );
  assert.match(c.ignored[2]!.why, /unknown keyword "bogus"/);
});

test('search keeps at most 6 valid domains and reports the invalid ones', () => {
  const c = parseResolvConf(`search ${Array.from({ length: 10 }, (_, i) => `d${i}.example`).join(' ')} bad..name`);
  assert.equal(c.search.length, MAX_SEARCH_DOMAINS);
  assert.deepEqual(c.ignored, [{ line: 1, why: '"bad..name" is not a domain name' }]);
});

test('property: any text parses without throwing into bounded, well-formed settings', () => {
  const keyword = fc.constantFrom(
    'nameserver',
    'search',
    'domain',
    'options',
    'sortlist',
    '#',
    ';',
    'ndots:',
    'timeout:',
    'attempts:',
    'rotate',
    '',
  );
  const lineArb = fc
    .array(fc.oneof(keyword, fc.string({ maxLength: 30 }), fc.ipV4(), fc.ipV6(), fc.domain()), { maxLength: 6 })
    .map((parts) => parts.join(' '));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 2000 }),
        fc.array(lineArb, { maxLength: 60 }).map((ls) => ls.join('\n')),
      ),
      (text) => {
        const c = parseResolvConf(text);
        assert.ok(Number.isInteger(c.ndots) && c.ndots >= 0 && c.ndots <= 15);
        assert.ok(c.timeoutMs === undefined || (c.timeoutMs >= 1000 && c.timeoutMs <= 30000));
        assert.ok(c.attempts === undefined || (c.attempts >= 1 && c.attempts <= 5));
        assert.ok(
          c.search.length <= MAX_SEARCH_DOMAINS &&
            c.search.every((d) => d.length <= 253 && d === d.toLowerCase() && !d.endsWith('.')),
        );
        assert.ok(c.ignored.length <= MAX_IGNORED);
        assert.ok(c.nameservers.every((n) => !n.includes('%')));
      },
    ),
    { numRuns: 500 },
  );
});
