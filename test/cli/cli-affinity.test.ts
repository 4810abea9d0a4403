// sip-locate --key: the same key gets the same order on every run (another process each time), and --trace says why
// the first target was chosen. Real BIND serving test/zones/carriers.test.zone; dist/cli.js built by npm test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CLI, run } from './cli-run';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';

const POOL = 'sip:pool.carriers.test;transport=udp';

describe(
  'sip-locate --key',
  { skip: skipUnless('bind') || (existsSync(CLI) ? false : 'run npm run build first') },
  () => {
    let server: RunningDnsServer;
    before(async () => {
      server = await startDnsServer('bind', {
        zones: [{ origin: 'carriers.test', file: zonePath('carriers.test.zone') }],
      });
    });
    after(async () => server?.stop());

    test('two runs with one key print the same order and the key; another key reaches another server', () => {
      const order = (key: string): { hosts: string[]; affinityKey: string } => {
        const r = run(['--nameserver', server.nameserver, '--family', 'ipv4', '--json', '--key', key, POOL]);
        assert.equal(r.code, 0, r.err);
        const o = JSON.parse(r.out) as { targets: Array<{ host: string }>; affinityKey: string };
        return { hosts: o.targets.map((t) => t.host), affinityKey: o.affinityKey };
      };
      const first = order('alice');
      assert.deepEqual(order('alice'), first);
      assert.equal(first.affinityKey, 'alice');
      assert.equal(first.hosts.length, 7);
      const others = new Set(['bob', 'carol', 'dave', 'erin', 'frank', 'grace'].map((k) => order(k).hosts[0]));
      assert.ok(others.size >= 3, `six keys reached ${others.size} servers`);
    });

    test('--trace names the hash rank; a bad key is EINVALIDOPTION', () => {
      const r = run(['--nameserver', server.nameserver, '--family', 'ipv4', '--trace', '--key', 'alice', POOL]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /has hash rank 1 for the key "alice"/);
      const bad = run(['--nameserver', server.nameserver, '--json', '--key', 'x'.repeat(257), POOL]);
      assert.equal(bad.code, 1);
      assert.equal(JSON.parse(bad.out).error.code, 'EINVALIDOPTION');
    });
  },
);
