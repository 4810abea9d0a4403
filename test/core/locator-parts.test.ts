// The locator's parts: the options table is what createLocator() checks against, the recent-orders list is
// bounded, and a locate leaves no listener on the caller's signal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createLocator } from '../../src/core/locator';
import { LOCATOR_OPTIONS, numberOption } from '../../src/core/locator/options';
import { MAX_RECENT_ORDERS } from '../../src/core/failover/target-state';
import { SipLocateError } from '../../src/core/errors';

test('every numeric option is checked against the one table: its bounds in the sentence, its default when absent', () => {
  for (const [name, spec] of Object.entries(LOCATOR_OPTIONS)) {
    assert.equal(numberOption(name as keyof typeof LOCATOR_OPTIONS, undefined), spec.default, `${name} default`);
    assert.throws(
      () => createLocator({ nameservers: ['127.0.0.1:9'], [name]: spec.max + 1 }),
      (err: unknown) =>
        err instanceof SipLocateError &&
        err.code === 'EINVALIDOPTION' &&
        err.message.includes(`from ${spec.min} to ${spec.max}`),
      name,
    );
  }
  assert.equal(numberOption('maxTargets', 7.9), 7, 'counts are whole numbers');
  assert.equal(numberOption('resolveTimeoutMs', 7.5), 7.5);
});

test(`state({ orders: true }) keeps the order of the last ${MAX_RECENT_ORDERS} destinations, newest first, marks applied`, async () => {
  const l = createLocator({ nameservers: ['127.0.0.1:9'] });
  const n = MAX_RECENT_ORDERS + 10;
  for (let i = 1; i <= n; i++) await l.locate(`sip:127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
  const newest = (await l.locate(`sip:127.0.9.1`)).targets[0]!;
  l.markFailed(newest, { reason: '503', retryAfter: 60 });
  const orders = l.state({ orders: true }).orders!;
  assert.equal(orders.length, MAX_RECENT_ORDERS);
  assert.equal(orders[0]!.targets[0]!.address, '127.0.9.1');
  assert.equal(orders[0]!.targets[0]!.mark, 'black', 'the order carries the mark in force now');
  assert.equal(l.state().orders, undefined, 'left out unless asked for');
  l.close();
});

test('a locate with a signal leaves no listener on it, cold or warm, resolved or rejected', async () => {
  const l = createLocator({
    nameservers: ['127.0.0.1:9'],
    staticRecords: '_sip._udp.parts.test. 60 IN SRV 0 0 5060 h.parts.test.\nh.parts.test. 60 IN A 127.0.0.40',
  });
  const stop = new AbortController();
  for (let i = 0; i < 20; i++) await l.locate('sip:parts.test;transport=udp', { signal: stop.signal });
  await assert.rejects(l.locate('sip:not valid', { signal: stop.signal }));
  assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
  l.close();
});
