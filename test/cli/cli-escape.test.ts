// The sip-locate command never writes a control character from DNS to the terminal (issue 23): records carrying
// OSC 52 (clipboard), OSC 0 (title), CSI 2J (clear screen) and a C1 CSI, served by a real NSD, come out as \xNN.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, run } from './cli-run';
import { skipUnless, startDnsServer, type RunningDnsServer } from '../servers/dns-servers';
import { ESCAPE_NUMBER, HOSTILE_ENUM_ORIGIN, hostileEnumZoneText, TERMINAL_ESCAPES } from '../enum/hostile-zone';

/** Control characters a terminal acts on: C0 other than newline, DEL and C1. */
// eslint-disable-next-line no-control-regex -- finding control bytes is the point
const CONTROLS = /[\x00-\x09\x0b-\x1f\x7f-\x9f]/;

describe(
  'sip-locate command and terminal escapes in DNS data',
  { skip: skipUnless('nsd') || (existsSync(CLI) ? false : 'run npm run build first') },
  () => {
    let server: RunningDnsServer;
    let dir: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sip-cli-escape-'));
      const file = join(dir, 'hostile.zone');
      writeFileSync(file, hostileEnumZoneText());
      server = await startDnsServer('nsd', { zones: [{ origin: HOSTILE_ENUM_ORIGIN, file }] });
    });
    after(async () => {
      await server?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('--trace text: every escape from the records is written as \\xNN, none reaches the terminal', () => {
      const r = run([
        '--nameserver',
        server.nameserver,
        '--trace',
        '--family',
        'ipv4',
        '--enum-suffix',
        HOSTILE_ENUM_ORIGIN,
        `tel:${ESCAPE_NUMBER}`,
      ]);
      assert.equal(r.code, 0, r.err);
      assert.doesNotMatch(r.out, CONTROLS);
      assert.doesNotMatch(r.err, CONTROLS);
      // Each record shows once in the NAPTR node's record list with its escapes spelled out.
      for (const esc of TERMINAL_ESCAPES) {
        const shown = esc.replace(
          // eslint-disable-next-line no-control-regex -- finding control bytes is the point
          /[\x00-\x1f\x7f-\x9f]/g,
          (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
        );
        assert.ok(r.out.includes(`sip:${shown}@pbx.enum.test`), shown);
      }
      assert.match(r.out, /\\x1b\]52;c;ZWNobyBwd25lZA==\\x07/);
      assert.match(r.out, /ENUM \+12025550195 -> sip:ok@127\.0\.0\.1/);
    });

    test('--json: valid JSON, C1 and DEL escaped as \\u00NN too; the records read back unchanged', () => {
      const r = run([
        '--nameserver',
        server.nameserver,
        '--json',
        '--trace',
        '--family',
        'ipv4',
        '--enum-suffix',
        HOSTILE_ENUM_ORIGIN,
        `tel:${ESCAPE_NUMBER}`,
      ]);
      assert.equal(r.code, 0, r.err);
      assert.doesNotMatch(r.out.trimEnd(), CONTROLS);
      const o = JSON.parse(r.out) as { trace: unknown; enum: { uri: string } };
      assert.equal(o.enum.uri, 'sip:ok@127.0.0.1');
      const text = JSON.stringify(o.trace);
      for (const esc of TERMINAL_ESCAPES)
        assert.ok(text.includes(JSON.stringify(`sip:${esc}@pbx.enum.test`).slice(1, -1)), esc);
    });

    test('an error for such a number: stderr carries no control character', () => {
      const r = run([
        '--nameserver',
        server.nameserver,
        '--family',
        'ipv4',
        '--enum-suffix',
        HOSTILE_ENUM_ORIGIN,
        '--max-queries',
        '1',
        `tel:${ESCAPE_NUMBER}`,
      ]);
      assert.equal(r.code, 1);
      assert.doesNotMatch(r.err, CONTROLS);
      assert.match(r.err, /^sip-locate: EBUDGET: /);
    });
  },
);
