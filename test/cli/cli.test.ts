// The sip-locate command, run as a child process (dist/cli.js, built by npm test) against real BIND.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CLI, run } from './cli-run';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';

describe(
  'sip-locate command',
  { skip: skipUnless('bind') || (existsSync(CLI) ? false : 'run npm run build first') },
  () => {
    let server: RunningDnsServer;
    before(async () => {
      server = await startDnsServer('bind', {
        zones: [
          { origin: 'example.test', file: zonePath('example.test.zone') },
          { origin: 'rfc3263.test', file: zonePath('rfc3263.test.zone') },
        ],
      });
    });
    after(async () => server?.stop());

    test('--json prints exactly one object with lower-case transports', () => {
      const r = run(['--nameserver', server.nameserver, '--json', '--family', 'ipv4', 'sip:ex41.rfc3263.test']);
      assert.equal(r.code, 0);
      assert.equal(r.out.trim().split('\n').length, 1);
      assert.deepEqual(JSON.parse(r.out), {
        uri: 'sip:ex41.rfc3263.test',
        targets: [
          { transport: 'tls', address: '127.0.10.1', port: 5061, family: 4, host: 'server1.ex41.rfc3263.test' },
        ],
      });
    });

    test('--classic-timer, --no-hedge and --max-timeout reach the DNS client: same answer, and a bad cap is EINVALIDOPTION', () => {
      const r = run([
        '--nameserver',
        server.nameserver,
        '--json',
        '--family',
        'ipv4',
        '--classic-timer',
        '--no-hedge',
        '--max-timeout',
        '3000',
        'sip:ex41.rfc3263.test',
      ]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(
        JSON.parse(r.out).targets.map((t: { address: string }) => t.address),
        ['127.0.10.1'],
      );
      const bad = run(['--nameserver', server.nameserver, '--json', '--max-timeout', '0', 'sip:ex41.rfc3263.test']);
      assert.equal(bad.code, 1);
      assert.deepEqual(JSON.parse(bad.out).error, {
        code: 'EINVALIDOPTION',
        message: 'The option maxTimeoutMs must be a number from 1 to 600000.',
      });
    });

    test('--json failure: error object and a non-zero exit code', () => {
      // DNS only: the default would also ask the machine's own resolver for the address-less SRV targets.
      const r = run([
        '--nameserver',
        server.nameserver,
        '--json',
        '--address-lookup',
        'dns',
        'sip:noaddr.rfc3263.test',
      ]);
      assert.equal(r.code, 1);
      const o = JSON.parse(r.out);
      assert.equal(o.error.code, 'ENOADDRESS');
      assert.match(o.error.message, /none of their targets has an address|without any address/);
    });

    test('default output is a table; --trace shows the NAPTR -> SRV -> A tree with TTLs', () => {
      const r = run(['--nameserver', server.nameserver, '--trace', '--transports', 'udp,tcp', 'sip:ex41.rfc3263.test']);
      assert.equal(r.code, 0);
      assert.match(r.out, /NAPTR ex41\.rfc3263\.test \[network\]/);
      assert.match(r.out, /SRV 0 2 5060 server2\.ex41\.rfc3263\.test {2}ttl=300/);
      assert.match(r.out, /Skipped NAPTR 50 50 "s" "SIPS\+D2T".*tls is not enabled/);
      assert.match(r.out, /^#\s+transport\s+address/m);
      assert.match(r.out, /tcp\s+127\.0\.10\.[12]\s+5060/);
      assert.match(
        r.out,
        new RegExp(
          `^nameservers:\\n  ${server.nameserver.replace(/\./g, '\\.')}  healthy  round trip [0-9.]+ ms, timeout [0-9]+ ms(, early copy at [0-9]+ ms)?$`,
          'm',
        ),
        'the nameserver, its health and what its timer believes',
      );
    });

    test('bad options and URIs get clear sentences', () => {
      const a = run(['--frobnicate', 'sip:x']);
      assert.equal(a.code, 2);
      assert.match(a.err, /Unknown option --frobnicate/);
      const b = run(['--nameserver', 'nonsense', 'sip:example.test']);
      assert.equal(b.code, 1);
      assert.match(b.err, /EINVALIDNAMESERVER: "nonsense" is not a nameserver address/);
      const c = run(['--nameserver', server.nameserver, 'http://example.test']);
      assert.match(
        c.err,
        /EINVALIDURI: "http:\/\/example.test" is not a usable SIP URI: it must start with sip: or sips:/,
      );
      const d = run([]);
      assert.equal(d.code, 2);
      assert.match(d.err, /Give a SIP URI/);
    });

    test('--json usage errors print exactly one JSON object on stdout (exit 2), nothing on stderr', () => {
      for (const args of [
        ['--json', '--frobnicate', 'sip:x'],
        ['--json'],
        ['--json', 'sip:a', 'sip:b'],
        ['--json', '--timeout'],
      ]) {
        const r = run(args);
        assert.equal(r.code, 2, args.join(' '));
        assert.equal(r.err, '');
        assert.equal(r.out.trim().split('\n').length, 1);
        const o = JSON.parse(r.out);
        assert.equal(o.error.code, 'EINVALIDOPTION');
        assert.ok(typeof o.error.message === 'string' && o.error.message.length > 10);
      }
    });

    test('--max-targets limits the list; a bad value is EINVALIDOPTION', () => {
      const all = JSON.parse(
        run([
          '--nameserver',
          server.nameserver,
          '--json',
          '--transports',
          'udp',
          '--address-lookup',
          'dns',
          'sip:example.test',
        ]).out,
      );
      assert.ok(all.targets.length >= 3, JSON.stringify(all));
      const one = JSON.parse(
        run([
          '--nameserver',
          server.nameserver,
          '--json',
          '--transports',
          'udp',
          '--max-targets',
          '1',
          'sip:example.test',
        ]).out,
      );
      assert.equal(one.targets.length, 1);
      const bad = run(['--nameserver', server.nameserver, '--json', '--max-targets', '0', 'sip:example.test']);
      assert.equal(bad.code, 1);
      assert.equal(JSON.parse(bad.out).error.code, 'EINVALIDOPTION');
    });

    test('--max-queries: a budget too small to find a target is EBUDGET', () => {
      const r = run([
        '--nameserver',
        server.nameserver,
        '--json',
        '--transports',
        'udp',
        '--max-queries',
        '2',
        'sip:example.test',
      ]);
      assert.equal(r.code, 1);
      assert.equal(JSON.parse(r.out).error.code, 'EBUDGET');
    });
  },
);
