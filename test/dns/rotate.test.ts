// resolv.conf's `options rotate`: successive questions start at successive nameservers (fake servers count what each is asked).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDnsClient } from '../../src/core/dns/client';
import { createTestLocator } from '../../src/core/locator';
import { reply, startFakeDns, type FakeDnsServer } from '../servers/fake-dns';
import { COUNTED } from '../support/counting';

describe('options rotate', () => {
  const servers: FakeDnsServer[] = [];
  let dir = '';
  before(async () => {
    for (let i = 0; i < 3; i++)
      servers.push(
        await startFakeDns((q) => [
          reply(q, { answers: [{ type: 'A', name: q.name, ttl: 60, data: `192.0.2.${i + 1}` }] }),
        ]),
      );
    dir = mkdtempSync(join(tmpdir(), 'sip-rotate-'));
  });
  after(async () => {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const counts = (): number[] => servers.map((s) => s.queries.length);
  const reset = (): void => {
    for (const s of servers) s.queries.length = 0;
  };

  test('without rotate every question goes to the first server; with it, six questions start at each server twice', async () => {
    reset();
    // The timer is pinned (COUNTED): a copy hedged to the next server on a busy machine would count there.
    const plain = createDnsClient({ ...COUNTED, nameservers: servers.map((s) => s.nameserver), dns0x20: false });
    for (let i = 0; i < 6; i++) await plain.query(`n${i}.example.test`, 'A');
    plain.close();
    assert.deepEqual(counts(), [6, 0, 0]);
    reset();
    const rotating = createDnsClient({
      ...COUNTED,
      nameservers: servers.map((s) => s.nameserver),
      dns0x20: false,
      rotate: true,
    });
    const answeredBy: string[] = [];
    for (let i = 0; i < 6; i++) answeredBy.push((await rotating.query(`r${i}.example.test`, 'A')).nameserver);
    rotating.close();
    assert.deepEqual(counts(), [2, 2, 2]);
    assert.deepEqual(
      answeredBy,
      [0, 1, 2, 0, 1, 2].map((i) => servers[i]!.nameserver),
      'each question starts at the next server',
    );
  });

  test('a locator without nameservers applies `options rotate` from resolv.conf', async () => {
    reset();
    const path = join(dir, 'resolv.conf');
    writeFileSync(path, 'options rotate\n');
    const locator = createTestLocator({
      ...COUNTED,
      system: { resolvConfPath: path, getServers: () => servers.map((s) => s.nameserver) },
      addressLookup: 'dns',
      dns0x20: false,
    });
    for (let i = 0; i < 3; i++) await locator.dns!.query(`l${i}.example.test`, 'A');
    locator.close();
    assert.deepEqual(counts(), [1, 1, 1]);
  });
});
