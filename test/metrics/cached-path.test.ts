// Locates answered from the plan cache through locateCached() (what sip-locate uses first) are counted like any
// other: sip_locate_locates_total{result="ok"} and sip_locate_plan_cache_hits_total, for sip: and tel: URIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import { metricsFor } from '../../src/metrics/registry';
import { labStaticRecords } from '../../src/lab';
import { parseExposition } from './exposition';

test('locateCached() counts a locate and a plan cache hit per answer; a miss counts nothing', async () => {
  const l = createLocator({
    staticRecords: labStaticRecords(),
    nameservers: ['127.0.0.1:9'],
    addressLookup: 'dns',
    enumSuffixes: ['e164.demo.test'],
  });
  try {
    assert.equal(l.locateCached('sip:pbx.demo.test'), undefined, 'nothing cached yet');
    await l.locate('sip:pbx.demo.test');
    await l.locate('tel:+1-202-555-0101');
    for (let i = 0; i < 3; i++) assert.ok(l.locateCached('sip:pbx.demo.test'));
    assert.ok(l.locateCached('tel:+1-202-555-0101'));
    const c = l.counters();
    assert.deepEqual(
      [c.locates, c.planHits, c.planMisses],
      [{ ok: 6 }, 5, 1],
      'locate(tel:) reused the pbx plan; 4 cached answers',
    );
    const families = parseExposition((await metricsFor(l).collect()).text);
    assert.equal(families.get('sip_locate_locates_total')?.samples.find((s) => s.labels.result === 'ok')?.value, 6);
    assert.equal(families.get('sip_locate_plan_cache_hits_total')?.samples[0]?.value, 5);
  } finally {
    l.close();
  }
});
