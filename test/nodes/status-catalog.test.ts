// No raw catalog key is ever shown: every status a node can show is a key of that node's own catalog, in en-US and
// de. Three walks: the declared table against the catalogs, the keys written in the sources, and the statuses a
// real Node-RED runtime shows while each node goes through its states (no resolver, located, sticky, failover,
// confirmed, probed, failed, store down, resolver closed).
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { helper, NODES, type Flow } from './helper';
import { STATUS_NAMES, isStatusNodeType } from '../../src/nodes/node-status';
import { NOTICE_STATUS_NAMES } from '../../src/nodes/resolver-lookup';
import { until } from '../support/wait';
import { freePort } from '../servers/ports';
import { startWsResponder } from '../probe/ws-responder';

const ROOT = join(__dirname, '../..');
const LANGS = ['en-US', 'de'] as const;
const ALL = [...NODES, require('../../src/nodes/sip-options'), require('../../src/nodes/sip-events')];

/** The catalog of one node type in one language. */
function catalog(lang: string, type: string): Record<string, Record<string, unknown>> {
  return (
    JSON.parse(readFileSync(join(ROOT, 'nodes/locales', lang, `${type}.json`), 'utf8')) as Record<
      string,
      Record<string, Record<string, unknown>>
    >
  )[type]!;
}

/** The value of `<type>.status.<name>` in a language, or undefined. */
function statusEntry(lang: string, type: string, name: string): unknown {
  return catalog(lang, type).status?.[name];
}

/** Every `sip-xxx.status.yyy` key inside a text. */
function keysIn(text: string): Array<{ type: string; name: string }> {
  return [...text.matchAll(/\b(sip-[a-z-]+)\.status\.([A-Za-z-]+)/g)].map((m) => ({ type: m[1]!, name: m[2]! }));
}

test("each declared status is in the node's own catalog in en-US and de, with the same placeholders; no stale status entry", () => {
  for (const [type, names] of Object.entries(STATUS_NAMES)) {
    for (const n of NOTICE_STATUS_NAMES)
      assert.ok((names as readonly string[]).includes(n), `${type} shows resolver notices: needs ${n}`);
    for (const lang of LANGS) {
      for (const name of names) {
        const text = statusEntry(lang, type, name);
        assert.equal(typeof text, 'string', `${lang}/${type}.json lacks ${type}.status.${name}`);
      }
      assert.deepEqual(
        Object.keys(catalog(lang, type).status ?? {}).sort(),
        [...names].sort(),
        `${lang}/${type}.json status entries`,
      );
    }
    for (const name of names) {
      const holes = (lang: string): string[] =>
        [...String(statusEntry(lang, type, name)).matchAll(/__(\w+)__/g)].map((m) => m[1]!).sort();
      assert.deepEqual(holes('de'), holes('en-US'), `${type}.status.${name}: same values in de as in en-US`);
    }
  }
});

test('every catalog key the runtime sources name exists, in en-US and de, in the catalog of the node that uses it', () => {
  const dir = join(ROOT, 'src/nodes');
  let seen = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    const own = file.replace(/\.ts$/, '');
    // RED._('type.section.key') for logs and errors, and literal status keys
    for (const m of source.matchAll(/'(sip-[a-z-]+)\.([a-z]+)\.([A-Za-z-]+)'/g)) {
      const [, type, section, key] = m as unknown as [string, string, string, string];
      if (!/^sip-/.test(own) || own === 'sip-sidebar') continue;
      assert.equal(type, own, `${file} names ${m[1]}'s catalog (${m[0]}): a node uses only its own catalog`);
      for (const lang of LANGS)
        assert.equal(
          typeof catalog(lang, type)[section]?.[key],
          'string',
          `${lang}/${type}.json lacks ${type}.${section}.${key} (${file})`,
        );
      seen++;
    }
    // statusText(RED, 'type', 'name', ...)
    for (const m of source.matchAll(/statusText\(RED, '(sip-[a-z-]+)', '(\w+)'/g)) {
      assert.ok(
        isStatusNodeType(m[1]!) && (STATUS_NAMES[m[1]] as readonly string[]).includes(m[2]!),
        `${file}: ${m[0]} is declared`,
      );
      seen++;
    }
  }
  assert.ok(seen >= 15, `${seen} keys checked`);
});

describe('the statuses a running node shows', () => {
  afterEach(async () => helper.unload());

  test("walked through their states, every status is a code, a value or a key of the node's own catalog (en-US and de)", async () => {
    const ws = await startWsResponder('answer');
    const deadRedis = await freePort();
    const statics =
      '_sip._udp.pbx.test. 60 IN SRV 10 50 5099 a.pbx.test.\n_sip._udp.pbx.test. 60 IN SRV 20 50 5098 a.pbx.test.\na.pbx.test. 60 IN A 127.0.0.1';
    const resolver = (id: string, extra: Record<string, unknown>): Flow[number] => ({
      id,
      type: 'sip-resolver',
      nameservers: '127.0.0.1:9',
      transports: 'udp',
      addressLookup: 'dns',
      staticRecords: statics,
      ...extra,
    });
    const flow: Flow = [
      resolver('r1', {}),
      resolver('rs', { sticky: true, store: 'redis', redisUrl: `redis://127.0.0.1:${deadRedis}/0` }),
      resolver('bad', { family: 'no-such-family' }),
      { id: 'loc', type: 'sip-locate', resolver: 'r1', wires: [[], []] },
      { id: 'sticky', type: 'sip-locate', resolver: 'rs', wires: [[], []] },
      { id: 'orphan', type: 'sip-locate', resolver: '', wires: [[], []] },
      { id: 'broken', type: 'sip-locate', resolver: 'bad', wires: [[], []] },
      { id: 'fail', type: 'sip-target-failed', resolver: 'r1', wires: [[], []] },
      { id: 'orphanFail', type: 'sip-target-failed', resolver: '', wires: [[], []] },
      { id: 'opt', type: 'sip-options', resolver: 'r1', timeout: 3000, wires: [[], []] },
      { id: 'ev', type: 'sip-events', resolver: 'r1', wires: [[], []] },
      { id: 'orphanEv', type: 'sip-events', resolver: '', wires: [[], []] },
      { id: 'evStore', type: 'sip-events', resolver: 'rs', wires: [[], []] },
    ];
    const shown: Array<{ id: string; type: string; text: string; fill?: string }> = [];
    const spy = (node: { id: string; type: string; status: (s: unknown) => void }): void => {
      const original = node.status.bind(node);
      node.status = (s: unknown): void => {
        if (s && typeof s === 'object') {
          const st = s as { text?: unknown; fill?: string };
          shown.push({ id: node.id, type: node.type, text: typeof st.text === 'string' ? st.text : '', fill: st.fill });
        }
        original(s);
      };
    };
    try {
      await helper.load(ALL, flow);
      // Statuses set in constructors (no resolver, a config error): the helper's spy on Node.prototype.status holds them.
      const proto = (
        helper as unknown as {
          _NodePrototype: {
            status: { getCalls(): Array<{ thisValue: { id: string; type: string }; args: unknown[] }> };
          };
        }
      )._NodePrototype;
      for (const c of proto.status.getCalls()) {
        const st = c.args[0] as { text?: unknown; fill?: string } | undefined;
        if (st && typeof st === 'object')
          shown.push({
            id: c.thisValue.id,
            type: c.thisValue.type,
            text: typeof st.text === 'string' ? st.text : '',
            fill: st.fill,
          });
      }
      for (const f of flow)
        if (f.type !== 'sip-resolver')
          spy(helper.getNode(f.id) as unknown as { id: string; type: string; status: (s: unknown) => void });
      // located, then a failover, then a confirmation
      helper.getNode('loc').receive({ payload: 'sip:pbx.test;transport=udp' });
      await until(() => shown.some((s) => s.id === 'loc' && s.fill === 'green'), 'sip-locate located');
      const target = {
        transport: 'udp',
        address: '127.0.0.1',
        port: 5099,
        family: 4,
        host: 'a.pbx.test',
        source: 'srv',
        ttl: 60,
      };
      const other = { ...target, port: 5098 };
      const sip = {
        uri: 'sip:pbx.test;transport=udp',
        destination: 'sip:pbx.test;transport=udp',
        target,
        targets: [target, other],
        tried: [],
        attempt: 1,
        sticky: false,
      };
      helper.getNode('fail').receive({ sip: { ...sip, failure: 503 } });
      await until(() => shown.some((s) => s.id === 'fail' && s.fill === 'yellow'), 'sip-target-failed failover');
      helper.getNode('fail').receive({ sip: { ...sip, ok: true } });
      await until(() => shown.some((s) => s.id === 'fail' && s.fill === 'green'), 'sip-target-failed confirmed');
      // probed: answered over ws, failed over tcp to a closed port
      const wsTarget = { ...target, transport: 'ws', port: ws.port };
      helper.getNode('opt').receive({ sip: { ...sip, target: wsTarget, targets: [wsTarget] } });
      await until(() => shown.some((s) => s.id === 'opt' && s.fill === 'green'), 'sip-options answered');
      const closed = { ...target, transport: 'tcp', port: await freePort() };
      helper.getNode('opt').receive({ sip: { ...sip, target: closed, targets: [closed] } });
      await until(() => shown.some((s) => s.id === 'opt' && s.fill === 'red'), 'sip-options failed');
      helper.getNode('ev').receive({ payload: { command: 'state' } });
      helper.getNode('ev').receive({ payload: { command: 'nonsense' } });
      await until(() => shown.some((s) => s.id === 'ev' && s.fill === 'red'), 'sip-events error');
      // the store is down: its users say so, and a located target carries the note
      await until(() => shown.some((s) => s.id === 'sticky' && s.fill === 'yellow'), 'store down notice');
      helper.getNode('sticky').receive({ payload: 'sip:pbx.test;transport=udp' });
      await until(
        () => shown.filter((s) => s.id === 'sticky' && s.fill === 'yellow').length >= 2,
        'located while the store is down',
      );
      // the resolver is removed while its users still run (as the runtime does when a deploy removes it first)
      await (helper.getNode('r1') as unknown as { close(removed: boolean): Promise<void> }).close(true);
      await until(() => shown.some((s) => s.id === 'loc' && s.fill === 'grey'), 'resolver closed');
    } finally {
      await ws.stop();
    }
    const types = new Set(shown.map((s) => s.type));
    for (const t of ['sip-locate', 'sip-target-failed', 'sip-options', 'sip-events'])
      assert.ok(types.has(t), `${t} showed statuses`);
    const keysShown = new Set<string>();
    for (const s of shown) {
      for (const k of keysIn(s.text)) {
        assert.equal(k.type, s.type, `${s.id} (${s.type}) shows "${s.text}": a key of another node's catalog`);
        for (const lang of LANGS)
          assert.equal(
            typeof statusEntry(lang, k.type, k.name),
            'string',
            `${s.id} shows "${s.text}", missing in ${lang}`,
          );
        keysShown.add(`${k.type}.${k.name}`);
      }
    }
    for (const id of ['orphan', 'orphanFail', 'orphanEv'])
      assert.ok(
        shown.some((s) => s.id === id && s.text.endsWith('.status.noResolver')),
        `${id}: no resolver`,
      );
    assert.ok(
      shown.some((s) => s.id === 'broken' && s.text === 'EINVALIDOPTION'),
      'a config error shows its code',
    );
    // The walk reached these states (the helper's RED._ returns keys, so every translated text is its key here).
    for (const k of [
      'sip-locate.located',
      'sip-locate.locatedSticky',
      'sip-locate.memoryOnly',
      'sip-locate.storeDown',
      'sip-locate.resolverClosed',
      'sip-target-failed.failover',
      'sip-target-failed.confirmed',
      'sip-options.probing',
      'sip-options.answered',
      'sip-options.failed',
      'sip-events.storeDown',
    ]) {
      assert.ok(keysShown.has(k), `the walk showed ${k}; shown: ${[...keysShown].join(', ')}`);
    }
  });
});
