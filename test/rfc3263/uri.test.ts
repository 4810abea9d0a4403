import { test } from 'node:test';
import assert from 'node:assert/strict';
import { destinationKey, parseSipUri, parseVia } from '../../src/core/uri';

test('parses user, host, port and parameters; headers and other parameters are ignored', () => {
  assert.deepEqual(parseSipUri('sip:alice@Example.COM:5070;transport=TCP;lr;maddr=10.0.0.1?subject=hi'), {
    scheme: 'sip',
    user: 'alice',
    host: 'example.com',
    hostKind: 0,
    port: 5070,
    transport: 'tcp',
    maddr: '10.0.0.1',
  });
  assert.deepEqual(parseSipUri('SIPS:[2001:DB8::1]:5061'), {
    scheme: 'sips',
    host: '2001:db8::1',
    hostKind: 6,
    port: 5061,
  });
  assert.deepEqual(parseSipUri('sip:192.0.2.4'), { scheme: 'sip', host: '192.0.2.4', hostKind: 4 });
  assert.equal(parseSipUri('sip:example.com.').host, 'example.com');
});

test('accepts a URI in angle brackets, as in Route or Contact, with a display name', () => {
  assert.equal(parseSipUri('<sip:proxy.example.com;lr>').host, 'proxy.example.com');
  assert.equal(parseSipUri('"Bob" <sips:bob@biloxi.example.com>;tag=1').scheme, 'sips');
});

test('bad URIs fail with EINVALIDURI and a sentence that says what is wrong', () => {
  const cases: Array<[unknown, RegExp]> = [
    ['http://example.com', /must start with sip: or sips:/],
    ['sip:', /has no host/],
    ['sip:example.com:0', /port "0" is not a number from 1 to 65535/],
    ['sip:example.com:99999', /port/],
    ['sip:2001:db8::1', /must be written in brackets/],
    ['sip:[2001:db8::1', /no closing/],
    ['sip:exa_mple.com', /not a valid host name/],
    ['sip:999.1.1.1', /not a valid IPv4 address/],
    ['<sip:example.com', /no matching ">"/],
    ['sip:example.com;transport=', /transport parameter/],
    ['', /empty/],
    ['sip:' + 'a'.repeat(3000), /longer than 2048/],
    [42, /Expected a SIP URI as text, got number/],
    [null, /got null/],
  ];
  for (const [input, re] of cases) {
    assert.throws(
      () => parseSipUri(input),
      (e: { code?: string; message?: string }) => e.code === 'EINVALIDURI' && re.test(String(e.message)),
      String(input).slice(0, 40),
    );
  }
});

test('the destination key holds scheme, target, port and transport, not the user', () => {
  assert.equal(
    destinationKey(parseSipUri('sip:alice@example.com')),
    destinationKey(parseSipUri('sip:bob@EXAMPLE.com')),
  );
  assert.notEqual(destinationKey(parseSipUri('sip:example.com')), destinationKey(parseSipUri('sips:example.com')));
  assert.equal(
    destinationKey(parseSipUri('sip:x@example.com:5070;transport=tcp')),
    'sip:example.com:5070;transport=tcp',
  );
  assert.equal(destinationKey(parseSipUri('sip:[::1]')), 'sip:[::1]');
});

test('Via: protocol, transport, sent-by, received, rport, maddr', () => {
  assert.deepEqual(parseVia('SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776;received=192.0.2.101;rport=33000'), {
    protocol: 'SIP/2.0',
    transport: 'udp',
    host: 'pc33.example.com',
    hostKind: 0,
    port: 5066,
    received: '192.0.2.101',
    rport: 33000,
  });
  assert.equal(parseVia('Via: SIP/2.0/TCP [::1];rport;branch=z9hG4bKx').rport, true);
  assert.throws(() => parseVia('nonsense'), { code: 'EINVALIDVIA' });
});
