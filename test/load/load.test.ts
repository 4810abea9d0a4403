// The short load run that npm test includes: 2,400 messages at 300/s over 100 domains, server A stopped at
// 2.5 s and started again at 5 s. `npm run load` runs the long one (2,000/s for 60 s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad } from './load';
import { skipUnless } from '../servers/dns-servers';
import { skipUnlessSipp } from '../servers/sipp';

const built = existsSync(join(__dirname, '..', '..', 'dist', 'nodes', 'sip-locate.js'));

test(
  'sustained load with a server stopped and restarted: nothing lost, nothing duplicated',
  { skip: skipUnless('nsd') || skipUnlessSipp() || (built ? false : 'run npm run build first') },
  async () => {
    const r = await runLoad({ ratePerSecond: 300, seconds: 8, domains: 100, stopAt: 2.5, restartAt: 5 });
    process.stderr.write(`load report: ${JSON.stringify(r)}\n`);
    assert.equal(r.messagesIn, 2400);
    assert.equal(r.lost, 0);
    assert.equal(r.duplicated, 0);
    assert.equal((r.out.answered ?? 0) + (r.out.exhausted ?? 0) + (r.out.notfound ?? 0), 2400);
    assert.equal(r.out.answered, 2400, 'server B answers whenever A is down');
    assert.ok(r.failedOver > 0, 'some messages failed over from A to B');
    assert.ok((r.answeredBy['127.0.0.111'] ?? 0) > 0 && (r.answeredBy['127.0.0.112'] ?? 0) > 0);
  },
);
