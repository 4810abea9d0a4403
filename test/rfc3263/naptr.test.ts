import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupByOrder, isSipNaptr, usableNaptrs } from '../../src/core/rfc3263/naptr';
import type { NaptrData } from '../../src/core/dns/types';

const rec = (
  order: number,
  preference: number,
  services = 'SIP+D2U',
  flags = 's',
  regexp = '',
  replacement = '_sip._udp.goose.down',
): NaptrData => ({ order, preference, flags, services, regexp, replacement });

test('Asterisk naptr_resolve_nominal ordering (order, then preference) over usable SIP records', () => {
  const pairs: Array<[number, number]> = [
    [200, 100],
    [300, 8],
    [300, 6],
    [100, 2],
    [400, 100],
    [100, 700],
    [500, 102],
    [500, 100],
    [500, 101],
    [500, 99],
    [10, 100],
    [700, 999],
  ];
  const { usable } = usableNaptrs(
    pairs.map(([o, p]) => rec(o, p)),
    ['udp'],
    'sip',
  );
  assert.deepEqual(
    usable.map((u) => [u.record.order, u.record.preference]),
    [
      [10, 100],
      [100, 2],
      [100, 700],
      [200, 100],
      [300, 6],
      [300, 8],
      [400, 100],
      [500, 99],
      [500, 100],
      [500, 101],
      [500, 102],
      [700, 999],
    ],
  );
  assert.deepEqual(
    groupByOrder(usable).map((g) => g.length),
    [1, 2, 1, 2, 1, 4, 1],
  );
});

test('services: SIP ones only, case-insensitive; non-SIP records never reach sorting (jitsi#278)', () => {
  assert.equal(isSipNaptr(rec(1, 1, 'sip+d2u')), true);
  assert.equal(isSipNaptr(rec(1, 1, 'SIPS+D2T')), true);
  assert.equal(isSipNaptr(rec(1, 1, 'RELAY:turn.udp')), false);
  assert.equal(isSipNaptr(rec(1, 1, 'E2U+sip')), false);
  const { usable, skipped } = usableNaptrs(
    [rec(1, 1, 'RELAY:turn.udp'), rec(2, 1, 'sip+d2t', 'S'), rec(3, 1, 'SIP+D2Q')],
    ['udp', 'tcp'],
    'sip',
  );
  assert.deepEqual(
    usable.map((u) => u.info.transport),
    ['tcp'],
  );
  assert.deepEqual(
    skipped.map((s) => s.why),
    ['service SIP+D2Q names a transport this package does not support'],
  );
});

test('flags, regexp and sips: rules', () => {
  const { usable, skipped } = usableNaptrs(
    [
      rec(1, 1, 'SIP+D2U', 'sa'),
      rec(1, 2, 'SIP+D2U', ''),
      rec(1, 3, 'SIP+D2U', 's', '!^.*$!sip:x@y!'),
      rec(1, 4, 'SIP+D2U', 's', '', '.'),
      rec(1, 5, 'SIP+D2U', 'A', '', 'host.goose.down'),
    ],
    ['udp'],
    'sip',
  );
  assert.deepEqual(
    usable.map((u) => [u.record.preference, u.lookup]),
    [[5, 'a']],
  );
  assert.equal(skipped.length, 4);
  const sips = usableNaptrs(
    [rec(1, 1, 'SIP+D2U'), rec(2, 1, 'SIPS+D2T'), rec(3, 1, 'SIPS+D2W')],
    ['udp', 'tls', 'wss'],
    'sips',
  );
  assert.deepEqual(
    sips.usable.map((u) => u.info.transport),
    ['tls', 'wss'],
  );
  assert.match(sips.skipped[0]!.why, /not secure and the URI is sips:/);
});
