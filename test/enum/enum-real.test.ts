// ENUM (RFC 6116) before RFC 3263, end to end against real BIND, NSD and Knot serving an ENUM tree
// (test/zones/e164.arpa.zone, e164.carrier.test.zone, enum.test.zone).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDnsClient } from '../../src/core/dns/client';
import { createLocator, type CreateLocatorOptions } from '../../src/core/locator';
import { lookupEnum, MAX_ENUM_QUERIES } from '../../src/core/enum/lookup';
import { EnumStep } from '../../src/core/enum/step';
import { SipLocateError } from '../../src/core/errors';
import type { TraceNode } from '../../src/core/types';
import { DNS_SERVER_KINDS, skipUnless, startDnsServer, zonePath, type RunningDnsServer } from '../servers/dns-servers';
import { startProxy, type DnsProxy } from '../servers/proxy';
import { COUNTED } from '../support/counting';

const ZONES = [
  { origin: 'e164.arpa', file: zonePath('e164.arpa.zone') },
  { origin: 'e164.carrier.test', file: zonePath('e164.carrier.test.zone') },
  { origin: 'enum.test', file: zonePath('enum.test.zone') },
];
const SUFFIXES = ['e164.carrier.test', 'e164.arpa'];

/** Every note in a trace tree. */
function notes(node: TraceNode | undefined): string[] {
  if (!node) return [];
  return [...(node.kind === 'note' ? [node.note ?? ''] : []), ...node.children.flatMap(notes)];
}

for (const kind of DNS_SERVER_KINDS) {
  describe(`ENUM against ${kind}`, { skip: skipUnless(kind) }, () => {
    let server: RunningDnsServer;
    let proxy: DnsProxy;
    before(async () => {
      // BIND checks NAPTR regexps when it loads a zone and refuses the malformed ones: NSD and Knot serve them.
      server = await startDnsServer(kind, {
        zones: kind === 'bind' ? ZONES : [...ZONES, { origin: 'e164.raw.test', file: zonePath('e164.raw.test.zone') }],
      });
      proxy = await startProxy({ upstream: server.nameserver });
    });
    after(async () => {
      await proxy?.stop();
      await server?.stop();
    });
    const locator = (o: CreateLocatorOptions = {}): ReturnType<typeof createLocator> =>
      createLocator({
        ...COUNTED,
        nameservers: [proxy.nameserver],
        timeoutMs: 1000,
        tries: 2,
        family: 'ipv4',
        enumSuffixes: SUFFIXES,
        ...o,
      });
    async function locate(
      uri: string,
      o: CreateLocatorOptions = {},
    ): Promise<{ uri: string; address: string; enum: unknown; trace?: TraceNode }> {
      const l = locator(o);
      try {
        const r = await l.locate(uri, { trace: true });
        return { uri: r.uri, address: `${r.targets[0]!.address}:${r.targets[0]!.port}`, enum: r.enum, trace: r.trace };
      } finally {
        l.close();
      }
    }
    async function codeOf(uri: string, o: CreateLocatorOptions = {}): Promise<SipLocateError> {
      const l = locator(o);
      try {
        await l.locate(uri);
        assert.fail(`${uri} resolved`);
      } catch (err) {
        assert.ok(err instanceof SipLocateError);
        return err;
      } finally {
        l.close();
      }
    }
    async function lookup(number: string, suffixes: string[]): Promise<string | undefined> {
      const client = createDnsClient({ nameservers: [proxy.nameserver], timeoutMs: 1000, tries: 2 });
      try {
        return (await lookupEnum(client, number, suffixes, undefined)).match?.uri;
      } finally {
        client.close();
      }
    }

    test('RFC 6116 section 6 and RFC 3761 examples: the E2U+sip rule, never h323 or mailto', async () => {
      assert.equal(await lookup('+441632960083', ['e164.arpa']), 'sip:phoneme@example.net');
      assert.equal(await lookup('+4689761234', ['e164.arpa']), 'sip:info@example.com');
    });

    test('a tel: URI with visual separators is located through ENUM; msg.sip.enum names the record', async () => {
      const r = await locate('tel:+1-202-555-0101');
      assert.equal(r.uri, 'sip:alice@a.enum.test');
      assert.equal(r.address, '127.0.40.1:5060');
      assert.deepEqual(r.enum, {
        number: '+12025550101',
        domain: '1.0.1.0.5.5.5.2.0.2.1.e164.arpa',
        uri: 'sip:alice@a.enum.test',
        order: 10,
        preference: 10,
      });
      assert.equal(r.trace?.kind, 'uri');
      assert.equal(r.trace?.children[0]?.kind, 'enum', 'the ENUM step is the first branch');
      assert.equal(r.trace?.children[1]?.name, 'sip:a.enum.test');
    });

    test('several suffixes in order: the first (empty for this number) is asked first, then e164.arpa', async () => {
      proxy.reset();
      await locate('tel:+12025550101');
      const naptr = proxy.questions
        .map((q) => q.toLowerCase())
        .filter((q) => q.startsWith('naptr') && q.includes('e164'));
      assert.deepEqual(naptr, [
        'naptr 1.0.1.0.5.5.5.2.0.2.1.e164.carrier.test',
        'naptr 1.0.1.0.5.5.5.2.0.2.1.e164.arpa',
      ]);
      const both = await locate('tel:+12025550102');
      assert.equal(both.uri, 'sip:carrier@c.enum.test', 'a number under both suffixes: the first suffix wins');
      assert.equal(both.address, '127.0.40.3:5060');
    });

    test('order, then preference; a lower-order non-SIP record is passed over', async () => {
      const r = await locate('tel:+12025550103');
      assert.equal(r.uri, 'sip:first@a.enum.test');
      assert.deepEqual([(r.enum as { order: number }).order, (r.enum as { preference: number }).preference], [10, 10]);
    });

    test('non-terminal chain: two replacements, then a terminal rule with a backreference', async () => {
      const r = await locate('tel:+12025550104');
      assert.equal(r.uri, 'sip:2025550104@b.enum.test');
      assert.equal((r.enum as { domain: string }).domain, 'hop2.enum.test');
    });

    test('a non-terminal loop stops with ENOENUM after a bounded number of questions', async () => {
      proxy.reset();
      const err = await codeOf('tel:+12025550105');
      assert.equal(err.code, 'ENOENUM');
      assert.match(err.message, /loop/);
      const naptr = proxy.questions.filter((q) => q.toUpperCase().startsWith('NAPTR'));
      assert.equal(naptr.length, 4, `carrier, e164.arpa, loop1, loop2: ${naptr.join(', ')}`);
      assert.ok(naptr.length <= MAX_ENUM_QUERIES);
      const client = createDnsClient({ ...COUNTED, nameservers: [proxy.nameserver], timeoutMs: 1000, tries: 2 });
      try {
        const capped = await lookupEnum(client, '+12025550104', SUFFIXES, undefined, 3);
        assert.equal(capped.queries, 3, 'carrier, e164.arpa, hop1: the budget stops before hop2');
        assert.equal(capped.match, undefined);
        assert.match(capped.reasons.join(' '), /query budget of 3 questions is spent/);
      } finally {
        client.close();
      }
    });

    test('a chain longer than five non-terminal rules is cut off', async () => {
      const err = await codeOf('tel:+12025550110');
      assert.equal(err.code, 'ENOENUM');
      assert.match(err.message, /more than 5 non-terminal rules/);
    });

    test('backreferences \\1-\\4 with the i flag and an upper-case service', async () => {
      const r = await locate('tel:+12025550106');
      assert.equal(r.uri, 'sip:0106-555-202-1@b.enum.test');
    });

    test('a regexp catastrophic for a backtracking engine finishes (linear time); the next rule is used', async () => {
      // CPU time, not the clock: other processes on a busy machine do not count against the budget.
      const cpu0 = process.cpuUsage();
      const r = await locate('tel:+12025550107');
      const cpu = process.cpuUsage(cpu0);
      const ms = (cpu.user + cpu.system) / 1000;
      assert.equal(r.uri, 'sip:safe@c.enum.test');
      assert.ok(
        notes(r.trace).some((n) => n.includes('does not match')),
        'the evil rule was evaluated and did not match',
      );
      // A backtracking engine needs minutes for this pattern on a 12-digit number (seconds at 16 characters); RE2 needs milliseconds.
      assert.ok(ms < 5000, `${ms.toFixed(0)} ms of CPU`);
    });

    test('malformed results are skipped with a note each; the usable rule is used', async () => {
      const r = await locate('tel:+12025550108');
      assert.equal(r.uri, 'sip:good@b.enum.test');
      const skipped = notes(r.trace).filter((n) => n.startsWith('Skipped'));
      assert.equal(skipped.length, 3, skipped.join('\n'));
      assert.ok(skipped.some((n) => /is not a sip: or sips: URI/.test(n)));
      assert.ok(skipped.some((n) => /"sip:x@bad host" holds white space/.test(n)));
      assert.ok(skipped.some((n) => /flags "x"/.test(n)));
    });

    if (kind !== 'bind') {
      test('malformed regexps are skipped with a note each; the usable rule is used', async () => {
        const r = await locate('tel:+12025550108', { enumSuffixes: ['e164.raw.test'] });
        assert.equal(r.uri, 'sip:good@b.enum.test');
        const skipped = notes(r.trace).filter((n) => n.startsWith('Skipped'));
        assert.equal(skipped.length, 3, skipped.join('\n'));
        assert.ok(skipped.some((n) => /does not compile/.test(n)));
        assert.ok(skipped.some((n) => /uses \\5 but the pattern has 0 groups/.test(n)));
        assert.ok(skipped.some((n) => /three "\^" delimiters/.test(n)));
      });
    }

    test('user=phone: located by its host when enumForUserPhone is off, through ENUM when on', async () => {
      const off = await locate('sip:+1-202-555-0101@gw.enum.test;user=phone');
      assert.equal(off.address, '127.0.40.9:5060');
      assert.equal(off.enum, undefined);
      const on = await locate('sip:+1-202-555-0101@gw.enum.test;user=phone', { enumForUserPhone: true });
      assert.equal(on.address, '127.0.40.1:5060');
      assert.equal(on.uri, 'sip:alice@a.enum.test');
      const miss = await locate('sip:+12025550109@gw.enum.test;user=phone', { enumForUserPhone: true });
      assert.equal(miss.address, '127.0.40.9:5060', 'no ENUM record: the URI itself');
      assert.equal((miss.enum as { fallback: boolean }).fallback, true);
    });

    test('no usable record: ENOENUM; with enumFallback the template is located and shown', async () => {
      const err = await codeOf('tel:+12025550109');
      assert.equal(err.code, 'ENOENUM');
      assert.match(err.message, /\+12025550109/);
      const r = await locate('tel:+12025550109', { enumFallback: 'sip:{number}@gw.enum.test' });
      assert.equal(r.uri, 'sip:+12025550109@gw.enum.test');
      assert.equal(r.address, '127.0.40.9:5060');
      assert.deepEqual(r.enum, { number: '+12025550109', uri: 'sip:+12025550109@gw.enum.test', fallback: true });
      assert.ok(notes(r.trace).some((n) => n.includes('enumFallback')));
    });

    test('the ENUM outcome cache holds at most cacheSize numbers, oldest out first', async () => {
      const client = createDnsClient({ nameservers: [proxy.nameserver], timeoutMs: 1000, tries: 2 });
      const step = new EnumStep({ enumSuffixes: SUFFIXES }, { now: Date.now }, 2);
      try {
        for (const n of ['0101', '0102', '0103']) await step.resolve(`tel:+1202555${n}`, client, false);
        assert.equal(step.cached('tel:+12025550101'), undefined);
        assert.equal(step.cached('tel:+12025550102')?.sipUri, 'sip:carrier@c.enum.test');
        assert.equal(step.cached('tel:+12025550103')?.sipUri, 'sip:first@a.enum.test');
      } finally {
        client.close();
      }
    });

    test('locateCached answers a tel: URI once ENUM and RFC 3263 data are cached', async () => {
      const l = locator();
      try {
        assert.equal(l.locateCached('tel:+12025550103'), undefined);
        const first = await l.locate('tel:+12025550103');
        const cached = l.locateCached('tel:+12025550103');
        assert.equal(cached?.uri, first.uri);
        assert.deepEqual(cached?.enum, first.enum);
      } finally {
        l.close();
      }
    });
  });
}
