// Nameserver health changes become events (nameserver-down once when it starts failing, nameserver-up once when it
// answers again) and DNS work is counted per nameserver for the metrics. The fake server is silent on demand, which
// a real server will not do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocator } from '../../src/core/locator';
import type { ResolverEvent } from '../../src/core/events';
import type { QueryEvent } from '../../src/core/dns/types';
import { reply, startFakeDns } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

// The 1 s DNS timeout (not 50 ms): an answer from the fake must arrive within it even on a busy machine.
test('a silent nameserver is one nameserver-down event, its return one nameserver-up; every query is handed to onQuery', async () => {
  let silent = true;
  const fake = await startFakeDns((q) =>
    silent ? [] : [reply(q, { answers: [{ type: 'A', name: q.name, ttl: 0, data: '127.0.0.5' }] })],
  );
  const l = createLocator({
    ...COUNTED,
    nameservers: [fake.nameserver],
    timeoutMs: 1000,
    tries: 1,
    transports: ['udp'],
    addressLookup: 'dns',
    staleSeconds: 0,
  });
  const events: ResolverEvent[] = [];
  const queries: QueryEvent[] = [];
  l.events.on((e) => events.push(e));
  l.onQuery((q) => queries.push(q));
  try {
    for (const name of ['a', 'b']) await assert.rejects(l.locate(`sip:${name}.fake.test`));
    silent = false;
    const found = await l.locate('sip:c.fake.test');
    assert.equal(found.targets[0]!.address, '127.0.0.5');
    await l.locate('sip:d.fake.test');
    const ns = events.filter((e) => e.op.startsWith('nameserver'));
    assert.deepEqual(
      ns.map((e) => [e.op, e.nameserver, e.state]),
      [
        ['nameserver-down', fake.nameserver, 'failing'],
        ['nameserver-up', fake.nameserver, 'healthy'],
      ],
    );
    assert.equal(ns[0]!.reason, 'ETIMEOUT');
    assert.ok(queries.some((q) => q.outcome === 'error' && q.code === 'ETIMEOUT'));
    assert.ok(queries.some((q) => q.outcome === 'network' && q.nameserver === fake.nameserver));
    assert.deepEqual(l.counters().locates, { ETIMEOUT: 2, ok: 2 });
  } finally {
    l.close();
    await fake.stop();
  }
});
