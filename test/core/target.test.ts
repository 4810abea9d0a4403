// target.uri and target.key: every transport, IPv4 and IPv6, and on the targets locate() hands out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addressPort,
  readTargetKey,
  sameTarget,
  targetId,
  targetLabel,
  targetText,
  targetUri,
} from '../../src/core/target';
import { createLocator } from '../../src/core/locator';
import type { Transport } from '../../src/core/types';

const cases: Array<[Transport, string, number, string, string]> = [
  ['udp', '192.0.2.1', 5060, 'sip:192.0.2.1:5060;transport=udp', 'udp:192.0.2.1:5060'],
  ['tcp', '192.0.2.1', 5060, 'sip:192.0.2.1:5060;transport=tcp', 'tcp:192.0.2.1:5060'],
  ['tls', '192.0.2.1', 5061, 'sips:192.0.2.1:5061;transport=tcp', 'tls:192.0.2.1:5061'],
  ['sctp', '192.0.2.1', 5060, 'sip:192.0.2.1:5060;transport=sctp', 'sctp:192.0.2.1:5060'],
  ['ws', '192.0.2.1', 80, 'sip:192.0.2.1:80;transport=ws', 'ws:192.0.2.1:80'],
  ['wss', '192.0.2.1', 443, 'sips:192.0.2.1:443;transport=ws', 'wss:192.0.2.1:443'],
  ['udp', '2001:db8::1', 5060, 'sip:[2001:db8::1]:5060;transport=udp', 'udp:[2001:db8::1]:5060'],
  ['tcp', '2001:db8::1', 5060, 'sip:[2001:db8::1]:5060;transport=tcp', 'tcp:[2001:db8::1]:5060'],
  ['tls', '2001:db8::1', 5061, 'sips:[2001:db8::1]:5061;transport=tcp', 'tls:[2001:db8::1]:5061'],
  ['sctp', '2001:db8::1', 5060, 'sip:[2001:db8::1]:5060;transport=sctp', 'sctp:[2001:db8::1]:5060'],
  ['ws', '2001:db8::1', 8080, 'sip:[2001:db8::1]:8080;transport=ws', 'ws:[2001:db8::1]:8080'],
  ['wss', '::ffff:192.0.2.1', 443, 'sips:[::ffff:192.0.2.1]:443;transport=ws', 'wss:[::ffff:192.0.2.1]:443'],
];

test('target uri and key for each transport, IPv4 and IPv6', () => {
  for (const [transport, address, port, uri, key] of cases) {
    assert.equal(targetUri({ transport, address, port }), uri);
    assert.equal(targetText({ transport, address, port }), key);
  }
});

test('locate() fills uri and key on numeric IPv4 and IPv6 targets (no DNS asked)', async () => {
  const locator = createLocator({ nameservers: ['127.0.0.1:9'], transports: ['udp', 'tcp', 'tls'] });
  try {
    const v6 = await locator.locate('sip:alice@[2001:db8::1]:5070;transport=tcp');
    assert.deepEqual(
      [v6.targets[0]!.uri, v6.targets[0]!.key],
      ['sip:[2001:db8::1]:5070;transport=tcp', 'tcp:[2001:db8::1]:5070'],
    );
    const v4 = await locator.locate('sips:bob@192.0.2.7');
    assert.deepEqual(
      [v4.targets[0]!.uri, v4.targets[0]!.key],
      ['sips:192.0.2.7:5061;transport=tcp', 'tls:192.0.2.7:5061'],
    );
  } finally {
    locator.close();
  }
});

test('one identity: sameTarget compares IPv6 in canonical form, readTargetKey makes untrusted addresses canonical', () => {
  const a = { transport: 'udp' as const, address: '2001:db8::1', port: 5060 };
  const b = { transport: 'udp' as const, address: '2001:0DB8:0:0:0:0:0:1', port: 5060 };
  assert.equal(sameTarget(a, b), true);
  assert.equal(sameTarget(a, { ...a, port: 5061 }), false);
  assert.equal(sameTarget(a, { ...a, transport: 'tcp' }), false);
  assert.equal(sameTarget({ ...a, address: '192.0.2.1' }, { ...a, address: '192.0.2.2' }), false);
  assert.deepEqual(readTargetKey(b), a, 'the address read from outside is canonical');
  assert.equal(targetId(readTargetKey(b)!), targetId(a), 'so map keys agree');
  assert.equal(readTargetKey({ ...a, address: 'example.com' }), undefined);
  assert.equal(readTargetKey({ ...a, port: 70000 }), undefined);
  assert.equal(readTargetKey({ ...a, transport: 'smtp' }), undefined);
});

test('the human forms bracket IPv6 too: targetLabel "udp [2001:db8::1]:5060", addressPort "[2001:db8::1]:5060"', () => {
  assert.equal(targetLabel({ transport: 'udp', address: '2001:db8::1', port: 5060 }), 'udp [2001:db8::1]:5060');
  assert.equal(targetLabel({ transport: 'tls', address: '192.0.2.1', port: 5061 }), 'tls 192.0.2.1:5061');
  assert.equal(addressPort({ address: '::1', port: 5062 }), '[::1]:5062');
});
