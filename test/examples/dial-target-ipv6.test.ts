// Example 04's dial strings, built from msg.sip.target.uri, bracket IPv6 and keep IPv4 as before (its own change and template nodes).
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { helper, nextMessage, type Flow } from '../nodes/helper';
import { targetText, targetUri } from '../../src/core/target';
import type { Transport } from '../../src/core/types';
import type { NodeInitializer } from 'node-red';

const example = JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', '04 - Dial target for Asterisk FreeSWITCH jambonz.json'), 'utf8')) as Flow;
const core = (file: string): NodeInitializer => require(join(require.resolve('@node-red/nodes/package.json'), '..', 'core', 'function', file)) as NodeInitializer;

afterEach(async () => helper.unload());

async function dial(transport: Transport, address: string, port: number, uri = 'sip:alice@pbx.example.test'): Promise<{ sipUri: string; asterisk: string; freeswitch: string; jambonz: { sipUri: string } }> {
  const parts = example.find((n) => n.type === 'change')!;
  const template = example.find((n) => n.type === 'template')!;
  // Without their tab: no z, and no x/y (the test helper does not create tab-less nodes that have a position).
  const bare = (n: Flow[number], wires: string[][]): Flow[number] => {
    const { z: _z, x: _x, y: _y, ...rest } = n;
    return { ...rest, wires };
  };
  await helper.load([core('15-change.js'), core('80-template.js')], [bare(parts, [[template.id]]), bare(template, [['out']]), { id: 'out', type: 'helper' }]);
  const got = nextMessage(helper.getNode('out'));
  const target = { transport, address, port, uri: targetUri({ transport, address, port }), key: targetText({ transport, address, port }) };
  helper.getNode(parts.id).receive({ sip: { uri, target } });
  return (await got).payload;
}

test('example 04: IPv6 targets are bracketed in every dial string', async () => {
  const d = await dial('udp', '2001:db8::1', 5060);
  assert.equal(d.sipUri, 'sip:alice@[2001:db8::1]:5060;transport=udp');
  assert.equal(d.asterisk, 'PJSIP/alice@[2001:db8::1]:5060');
  assert.equal(d.freeswitch, 'sofia/external/alice@[2001:db8::1]:5060;transport=udp');
  assert.equal(d.jambonz.sipUri, 'sip:alice@[2001:db8::1]:5060;transport=udp');
});

test('example 04: IPv4 over TLS gives a sips: URI', async () => {
  const d = await dial('tls', '192.0.2.7', 5061);
  assert.equal(d.sipUri, 'sips:alice@192.0.2.7:5061;transport=tcp');
  assert.equal(d.asterisk, 'PJSIP/alice@192.0.2.7:5061');
});

test('example 04: a user part outside letters, digits and + . _ ~ * - never reaches a dial string', async () => {
  for (const uri of ['sip:a,b&c@pbx.example.test', 'sip:x\r\nRoute: sip:evil;lr\r\nX:@pbx', 'sip:${EXEC}@pbx', 'sip:pbx.example.test', 'tel:+12025550101']) {
    const d = await dial('udp', '192.0.2.7', 5060, uri);
    assert.equal(d.sipUri, 'sip:192.0.2.7:5060;transport=udp', uri);
    assert.equal(d.asterisk, 'PJSIP/192.0.2.7:5060', uri);
    assert.equal(d.freeswitch, 'sofia/external/192.0.2.7:5060;transport=udp', uri);
    await helper.unload();
  }
  const d = await dial('udp', '192.0.2.7', 5060, 'sip:+12025550101@pbx.example.test;user=phone');
  assert.equal(d.asterisk, 'PJSIP/+12025550101@192.0.2.7:5060');
});
