// The sip-locate command with tel: URIs and --enum-suffix, run as a child process against real BIND.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CLI, run } from './cli-run';
import { skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';

describe(
  'sip-locate command with ENUM',
  { skip: skipUnless('bind') || (existsSync(CLI) ? false : 'run npm run build first') },
  () => {
    let server: RunningDnsServer;
    before(async () => {
      server = await startDnsServer('bind', {
        zones: ['e164.arpa', 'e164.carrier.test', 'enum.test'].map((origin) => ({
          origin,
          file: zonePath(`${origin}.zone`),
        })),
      });
    });
    after(async () => server?.stop());

    test('tel: with repeated --enum-suffix: suffixes in the given order, the ENUM outcome in --json', () => {
      const r = run([
        '--nameserver',
        server.nameserver,
        '--json',
        '--family',
        'ipv4',
        '--enum-suffix',
        'e164.carrier.test',
        '--enum-suffix',
        'e164.arpa',
        'tel:+1-202-555-0102',
      ]);
      assert.equal(r.code, 0, r.err);
      const o = JSON.parse(r.out);
      assert.deepEqual(o.enum, {
        number: '+12025550102',
        domain: '2.0.1.0.5.5.5.2.0.2.1.e164.carrier.test',
        uri: 'sip:carrier@c.enum.test',
        order: 10,
        preference: 10,
      });
      assert.deepEqual(
        o.targets.map((t: { address: string; port: number }) => `${t.address}:${t.port}`),
        ['127.0.40.3:5060'],
      );
      const other = JSON.parse(
        run([
          '--nameserver',
          server.nameserver,
          '--json',
          '--family',
          'ipv4',
          '--enum-suffix',
          'e164.arpa',
          '--enum-suffix',
          'e164.carrier.test',
          'tel:+1-202-555-0102',
        ]).out,
      );
      assert.equal(other.enum.uri, 'sip:public@a.enum.test', 'the order of --enum-suffix decides');
    });

    test('--trace draws the ENUM step first; ENOENUM without a fallback, the template with --enum-fallback', () => {
      const t = run([
        '--nameserver',
        server.nameserver,
        '--trace',
        '--family',
        'ipv4',
        '--enum-suffix',
        'e164.arpa',
        'tel:+12025550101',
      ]);
      assert.equal(t.code, 0, t.err);
      const lines = t.out.split('\n');
      assert.equal(lines[0], 'tel:+12025550101');
      assert.match(lines[1]!, /^ {2}ENUM \+12025550101 {2}suffixes e164\.arpa$/);
      assert.match(t.out, /NAPTR 10 10 "u" "E2U\+sip" "!\^\.\*\$!sip:alice@a\.enum\.test!" \./);
      assert.match(
        t.out,
        /ENUM \+12025550101 -> sip:alice@a\.enum\.test \(1\.0\.1\.0\.5\.5\.5\.2\.0\.2\.1\.e164\.arpa, order 10, preference 10\)/,
      );
      const miss = run(['--nameserver', server.nameserver, '--enum-suffix', 'e164.arpa', 'tel:+12025550109']);
      assert.equal(miss.code, 1);
      assert.match(miss.err, /^sip-locate: ENOENUM: No ENUM suffix gives a usable SIP URI for \+12025550109/);
      const fb = run([
        '--nameserver',
        server.nameserver,
        '--json',
        '--family',
        'ipv4',
        '--enum-suffix',
        'e164.arpa',
        '--enum-fallback',
        'sip:{number}@gw.enum.test',
        'tel:+12025550109',
      ]);
      assert.equal(fb.code, 0, fb.err);
      assert.deepEqual(JSON.parse(fb.out).enum, {
        number: '+12025550109',
        uri: 'sip:+12025550109@gw.enum.test',
        fallback: true,
      });
    });

    test('a local tel: number without a phone-context is refused with a sentence', () => {
      const r = run(['--nameserver', server.nameserver, 'tel:5550101']);
      assert.equal(r.code, 1);
      assert.match(
        r.err,
        /EINVALIDURI: "tel:5550101" is not a usable telephone number: a number without "\+" needs a phone-context/,
      );
    });
  },
);
