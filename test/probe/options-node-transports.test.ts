// sip-options in a Node-RED runtime probing ws and tls targets: the SIP domain of msg.sip.uri is the TLS identity
// (and SNI) unless tlsIdentity says target; a missing URI or a bad setting goes to output 2 with nothing sent.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collector, helper, NODES, type Flow, type HelperMsg } from '../nodes/helper';
import { makeTestCa, type TestCa } from './pki';
import { startTlsResponder, type TlsResponder } from './tls-responder';
import { startWsResponder, type WsResponder } from './ws-responder';

const ALL = [...NODES, require('../../src/nodes/sip-options')];

describe('sip-options over ws and tls in Node-RED', () => {
  let pki: TestCa;
  let tls: TlsResponder;
  let ws: WsResponder;
  before(async () => {
    pki = makeTestCa();
    tls = await startTlsResponder(pki.issue('sip1.carrier.test', ['DNS:sip1.carrier.test']));
    ws = await startWsResponder('answer');
  });
  after(async () => {
    await tls?.stop();
    await ws?.stop();
    pki.remove();
  });
  afterEach(async () => helper.unload());

  const flow = (extra: Record<string, unknown> = {}): Flow => [
    { id: 'r1', type: 'sip-resolver', nameservers: '127.0.0.1:9', transports: 'udp,tcp,tls,ws,wss' },
    { id: 'opt', type: 'sip-options', resolver: 'r1', timeout: 3000, ...extra, wires: [['ok'], ['err']] },
    { id: 'ok', type: 'helper' },
    { id: 'err', type: 'helper' },
  ];
  const sipFor = (uri: unknown, transport: string, port: number): Record<string, unknown> => {
    const target = {
      transport,
      address: '127.0.0.1',
      port,
      family: 4,
      host: 'sip1.carrier.test',
      source: 'srv',
      ttl: 60,
    };
    return { uri, destination: 'sip:example.test', target, targets: [target], tried: [], attempt: 1, sticky: false };
  };
  let out: ReturnType<typeof collector>;
  const load = async (extra: Record<string, unknown> = {}): Promise<void> => {
    await helper.load(ALL, flow(extra));
    out = collector(['ok', 'err']);
  };
  /** Sends one message and returns the output it left on (each message leaves on exactly one). */
  const probe = async (
    sip: Record<string, unknown>,
  ): Promise<{ output: 1 | 2; msg: { sip: Record<string, HelperMsg> } }> => {
    const n = out.total();
    const [ok, err] = [out.byOutput.ok!.length, out.byOutput.err!.length];
    helper.getNode('opt').receive({ sip });
    await out.until(n + 1);
    assert.equal(out.byOutput.ok!.length - ok + out.byOutput.err!.length - err, 1);
    const output = out.byOutput.ok!.length > ok ? 1 : 2;
    return {
      output,
      msg: (output === 1 ? out.byOutput.ok!.at(-1) : out.byOutput.err!.at(-1)) as { sip: Record<string, HelperMsg> },
    };
  };

  test('a ws target is probed and answered on output 1', async () => {
    await load();
    const r = await probe(sipFor('sip:example.test', 'ws', ws.port));
    assert.deepEqual([r.output, r.msg.sip.response?.status], [1, 200]);
    assert.match(
      ws.requests.at(-1)!.text,
      /^OPTIONS sip:sip1\.carrier\.test:\d+;transport=ws SIP\/2\.0\r\nVia: SIP\/2\.0\/WS /,
    );
  });

  test('tls: SNI is the domain of msg.sip.uri by default and the target host with tlsIdentity target', async () => {
    await load({ verifyTls: false });
    const r = await probe(sipFor('sips:alice@Example.TEST;transport=tcp', 'tls', tls.port));
    assert.deepEqual([r.output, r.msg.sip.response?.status, tls.servernames.at(-1)], [1, 200, 'example.test']);
    await helper.unload();
    await load({ verifyTls: false, tlsIdentity: 'target' });
    const t = await probe(sipFor(undefined, 'tls', tls.port));
    assert.deepEqual([t.output, t.msg.sip.response?.status, tls.servernames.at(-1)], [1, 200, 'sip1.carrier.test']);
  });

  test('with the system CAs the private certificate is refused; no msg.sip.uri or a bad tlsIdentity goes to output 2 unsent', async () => {
    await load();
    const refused = await probe(sipFor('sip:example.test', 'tls', tls.port));
    assert.deepEqual(
      [refused.output, refused.msg.sip.failure, refused.msg.sip.error.code],
      [2, 'transport', 'ETRANSPORT'],
    );
    const seen = tls.servernames.length;
    const missing = await probe(sipFor(undefined, 'tls', tls.port));
    assert.deepEqual([missing.output, missing.msg.sip.error.code], [2, 'EINVALIDMSG']);
    assert.match(missing.msg.sip.error.message, /msg\.sip\.uri/);
    await helper.unload();
    await load({ tlsIdentity: 'host' });
    const bad = await probe(sipFor('sip:example.test', 'tls', tls.port));
    assert.deepEqual([bad.output, bad.msg.sip.error.code], [2, 'EINVALIDOPTION']);
    assert.equal(tls.servernames.length, seen, 'nothing was sent');
  });
});
