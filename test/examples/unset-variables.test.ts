// A `${NAME}` Node-RED leaves as text (NAME unset) counts as an unset setting: the system's DNS for nameservers,
// memory with the store shown down for a Redis URL; a Redis store with no URL at all stays a configuration error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optionsFromConfig, storeFromConfig, withoutUnsetVariables, type ResolverConfig } from '../../src/nodes/resolver-config';
import { SipLocateError } from '../../src/core/errors';

const base: ResolverConfig = { id: 'r1', nameservers: '${SIP_LOCATE_NAMESERVERS}', store: 'redis', redisUrl: '${SIP_LOCATE_REDIS_URL}', transports: 'udp' };

test('every text setting holding ${NAME} is emptied and named once, others are kept as they are', () => {
  const { config, unset } = withoutUnsetVariables({ ...base, enumFallback: 'sip:{number}@gw.example.com', name: 'cost: $5 {x}' }, {});
  assert.deepEqual(unset, [{ setting: 'nameservers', variable: 'SIP_LOCATE_NAMESERVERS' }, { setting: 'redisUrl', variable: 'SIP_LOCATE_REDIS_URL' }]);
  assert.deepEqual([config.nameservers, config.redisUrl, config.transports, config.enumFallback, config.name], ['', '', 'udp', 'sip:{number}@gw.example.com', 'cost: $5 {x}']);
  assert.deepEqual(optionsFromConfig(config).nameservers, [], 'no nameservers: the system\'s DNS');
  assert.equal(base.nameservers, '${SIP_LOCATE_NAMESERVERS}', 'the saved configuration is not changed');
});

test('a ${NAME} inside a longer value makes the whole setting unset; a name longer than the bound is not a variable', () => {
  const { config, unset } = withoutUnsetVariables({ id: 'r', nameservers: '127.0.0.1:${DNS_PORT}', redisUrl: '${' + 'A'.repeat(129) + '}' }, {});
  assert.deepEqual(unset, [{ setting: 'nameservers', variable: 'DNS_PORT' }]);
  assert.deepEqual([config.nameservers, config.redisUrl], ['', '${' + 'A'.repeat(129) + '}']);
});

test('Redis through an unset variable: memory, marked for a "store down" status; no URL at all: EINVALIDOPTION', () => {
  const { config, unset } = withoutUnsetVariables(base, {});
  assert.deepEqual(storeFromConfig(config, 'r1', undefined, undefined, unset), { kind: 'memory', unsetRedisVariable: 'SIP_LOCATE_REDIS_URL' });
  assert.throws(() => storeFromConfig({ ...base, redisUrl: '' }, 'r1', undefined, undefined, []), (e: unknown) => e instanceof SipLocateError && e.code === 'EINVALIDOPTION');
  assert.equal(storeFromConfig({ ...base, redisUrl: 'redis://127.0.0.1:6379/0' }, 'r1', undefined, undefined, []).kind, 'redis');
});


test('a ${NAME} whose variable is set is kept for the setting to expand (monitorUris); an unset one beside it still empties it', () => {
  const env = { MON_TRUNK: 'trunk.mon.test' };
  const kept = withoutUnsetVariables({ id: 'r', monitorUris: 'sip:${MON_TRUNK}' }, env);
  assert.deepEqual(kept.unset, []);
  assert.equal(kept.config.monitorUris, 'sip:${MON_TRUNK}');
  const mixed = withoutUnsetVariables({ id: 'r', monitorUris: 'sip:${MON_TRUNK}\nsip:${NOT_SET}' }, env);
  assert.deepEqual(mixed.unset, [{ setting: 'monitorUris', variable: 'NOT_SET' }]);
});
