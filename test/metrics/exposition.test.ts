// The test's exposition parser itself: it refuses what Prometheus refuses (so a pass in other tests means something).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExposition } from './exposition';

test('accepts a well-formed family and refuses malformed text', () => {
  const ok =
    '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1\\"q\\\\"} 3\n# HELP h H.\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3.5\nh_count 2\n';
  const f = parseExposition(ok);
  assert.deepEqual(f.get('a_total')?.samples[0]?.labels, { x: '1"q\\' });
  for (const bad of [
    'a 1\n', // no TYPE/HELP
    '# TYPE a counter\na{x=1} 1\n', // unquoted
    '# TYPE a counter\na{x="1"} one\n', // not a number
    '# TYPE a counter\na -1\n', // negative counter
    '# TYPE a counter\na 1\na 2\n', // the same series twice
    '# TYPE a counter\na 1', // no final line feed
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
    '# TYPE a gauge\na{1x="1"} 1\n', // bad label name
  ])
    assert.throws(() => parseExposition(bad), Error, JSON.stringify(bad));
});
