// RFC 5922 TLS identity: SNI and the certificate check use the SIP domain by default, the target's host name, or
// either, against TLS and WSS responders with certificates from a private CA made in the test.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sendOptions, type ProbeResult } from '../../src/probe/prober';
import { checkProbeOptions, sipDomainOf } from '../../src/probe/check';
import { SipLocateError } from '../../src/core/errors';
import { withAddressing } from '../../src/core/target';
import type { Target, Transport } from '../../src/core/types';
import type { TlsIdentity } from '../../src/probe/tls-identity';
import { makeTestCa, type TestCa } from './pki';
import { startTlsResponder, type TlsResponder } from './tls-responder';
import { startWsResponder, type WsResponder } from './ws-responder';

const DOMAIN = 'example.test';
const HOST = 'sip1.carrier.test';
const target = (port: number, transport: Transport): Target =>
  withAddressing({ transport, address: '127.0.0.1', port, family: 4, host: HOST, source: 'srv', ttl: 60 });
const outcome = (r: ProbeResult): string =>
  r.kind === 'response' ? String(r.status) : `${r.failure} ${r.code}: ${r.message}`;

describe('TLS identity (RFC 5922)', () => {
  let pki: TestCa;
  let forDomain: TlsResponder;
  let forHost: TlsResponder;
  let wildcard: TlsResponder;
  let wssForHost: WsResponder;
  before(async () => {
    pki = makeTestCa();
    forDomain = await startTlsResponder(pki.issue(DOMAIN, [`DNS:${DOMAIN}`, `URI:sip:${DOMAIN}`]));
    const hostPem = pki.issue(HOST, [`DNS:${HOST}`, 'DNS:alt.carrier.test']);
    forHost = await startTlsResponder(hostPem);
    wildcard = await startTlsResponder(pki.issue('*.carrier.test', ['DNS:*.carrier.test']));
    wssForHost = await startWsResponder('answer', hostPem);
  });
  after(async () => {
    for (const r of [forDomain, forHost, wildcard, wssForHost]) await r?.stop();
    pki.remove();
  });

  const probe = (
    port: number,
    tlsIdentity?: TlsIdentity,
    transport: Transport = 'tls',
    verifyTls = true,
  ): Promise<ProbeResult> =>
    sendOptions(target(port, transport), {
      timeoutMs: 5000,
      ca: pki.ca,
      domain: DOMAIN,
      verifyTls,
      ...(tlsIdentity ? { tlsIdentity } : {}),
    });

  test("'domain' (the default) accepts the domain's certificate, sends the domain as SNI, and rejects the host's naming what it holds", async () => {
    assert.equal(outcome(await probe(forDomain.port)), '200');
    assert.equal(forDomain.servernames.at(-1), DOMAIN);
    const r = await probe(forHost.port, 'domain');
    assert.equal(r.kind === 'failure' && `${r.failure} ${r.code}`, 'transport ETRANSPORT');
    assert.equal(
      r.kind === 'failure' && r.message,
      `Sending to tls 127.0.0.1:${forHost.port} failed: the TLS certificate is not valid for ${DOMAIN} (tlsIdentity domain); it holds ${HOST}, alt.carrier.test.`,
    );
    assert.equal(forHost.servernames.at(-1), DOMAIN);
  });

  test("'target' accepts the host's certificate with the host as SNI and rejects the domain's", async () => {
    assert.equal(outcome(await probe(forHost.port, 'target')), '200');
    assert.equal(forHost.servernames.at(-1), HOST);
    const r = await probe(forDomain.port, 'target');
    assert.match(
      outcome(r),
      new RegExp(
        `^transport ETRANSPORT: .* is not valid for ${HOST.replace(/\./g, '\\.')} \\(tlsIdentity target\\); it holds ${DOMAIN.replace('.', '\\.')}\\.$`,
      ),
    );
  });

  test("'either' accepts both; a wildcard certificate matches neither (RFC 5922 7.2)", async () => {
    assert.equal(outcome(await probe(forDomain.port, 'either')), '200');
    assert.equal(outcome(await probe(forHost.port, 'either')), '200');
    assert.equal(forHost.servernames.at(-1), DOMAIN, 'SNI stays the domain');
    const r = await probe(wildcard.port, 'either');
    assert.match(
      outcome(r),
      /is not valid for example\.test or sip1\.carrier\.test \(tlsIdentity either\); it holds \*\.carrier\.test\.$/,
    );
  });

  test('wss follows the same identity rules', async () => {
    const r = await probe(wssForHost.port, 'domain', 'wss');
    assert.match(
      outcome(r),
      new RegExp(
        `^transport ETRANSPORT: .*not valid for example\\.test \\(tlsIdentity domain\\); it holds ${HOST.replace(/\./g, '\\.')}, alt\\.carrier\\.test\\.$`,
      ),
    );
    assert.equal(wssForHost.requests.length, 0, 'no request after a failed identity check');
    assert.equal(outcome(await probe(wssForHost.port, 'target', 'wss')), '200');
    assert.equal(wssForHost.upgrades.at(-1)!.servername, HOST);
    assert.equal(outcome(await probe(wssForHost.port, 'either', 'wss')), '200');
  });

  test('with verification off any certificate is accepted; without the CA the chain fails before the name', async () => {
    assert.equal(outcome(await probe(forHost.port, 'domain', 'tls', false)), '200');
    const r = await sendOptions(target(forDomain.port, 'tls'), { timeoutMs: 5000, domain: DOMAIN });
    assert.match(outcome(r), /^transport ETRANSPORT: .*(unable to get local issuer|unable to verify)/);
  });

  test('the domain and tlsIdentity options are checked; msg.sip.uri gives the domain', async () => {
    assert.equal(checkProbeOptions({ domain: 'bad domain' })?.code, 'EINVALIDOPTION');
    assert.equal(checkProbeOptions({ tlsIdentity: 'host' })?.code, 'EINVALIDOPTION');
    await assert.rejects(sendOptions(target(forDomain.port, 'tls'), { domain: 'x\r\nHost: evil' }), {
      code: 'EINVALIDOPTION',
    });
    assert.equal(sipDomainOf('sips:alice@Example.TEST;transport=tcp'), 'example.test');
    assert.equal(sipDomainOf('sip:example.test;maddr=192.0.2.1'), 'example.test');
    for (const bad of [undefined, 42, 'tel:+123', 'sip:'])
      assert.ok(sipDomainOf(bad) instanceof SipLocateError, String(bad));
  });
});
