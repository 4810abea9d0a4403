import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dnsPacket from 'dns-packet';
import { frameRecords } from '../../src/core/dns/framing';

/** The reason frameRecords() rejects a reply, or undefined when it frames it. */
function checkFraming(buf: Buffer): string | undefined {
  const r = frameRecords(buf);
  return typeof r === 'string' ? r : undefined;
}
import { decodeReply } from '../../src/core/dns/codec';

function good(): Buffer {
  return Buffer.from(
    dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: 0,
      questions: [{ type: 'SRV', name: '_sip._udp.example.test' }],
      answers: [
        {
          type: 'SRV',
          name: '_sip._udp.example.test',
          ttl: 60,
          data: { priority: 1, weight: 1, port: 5060, target: 'sip1.example.test' },
        },
      ],
      additionals: [{ type: 'A', name: 'sip1.example.test', ttl: 60, data: '127.0.0.1' }],
    }),
  );
}
/** Offset of the A record's RDLENGTH in good(): the last 6 bytes are RDLENGTH(2)+RDATA(4). */
const A_RDLENGTH = (): number => good().length - 6;

test('a well-formed reply passes and decodes', () => {
  assert.equal(checkFraming(good()), undefined);
  const r = decodeReply(good());
  assert.ok(typeof r !== 'string');
  assert.equal(r.answers[0]!.type, 'SRV');
});

test('A record whose RDLENGTH is not 4 is rejected (dns-packet would accept it)', () => {
  const b = good();
  b.writeUInt16BE(3, A_RDLENGTH());
  assert.match(String(checkFraming(b)), /RDATA runs past the end|A record with RDLENGTH/);
  const c = Buffer.concat([good(), Buffer.alloc(1)]);
  c.writeUInt16BE(5, A_RDLENGTH());
  assert.equal(checkFraming(c), 'A record with RDLENGTH other than 4');
});

test('trailing bytes after the last record are rejected', () => {
  assert.equal(checkFraming(Buffer.concat([good(), Buffer.from([0])])), 'trailing bytes after the last record');
});

test('a label containing a dot byte is rejected (it would read as two labels)', () => {
  const b = Buffer.from(
    dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'A', name: 'x.test' }],
      answers: [{ type: 'A', name: 'ab.test', ttl: 1, data: '1.2.3.4' }],
    }),
  );
  const i = b.indexOf(Buffer.from('ab'));
  b[i] = 0x2e;
  assert.equal(checkFraming(b), 'label with a dot, space, backslash or control byte');
});

test('control bytes in an owner name are rejected', () => {
  const b = Buffer.from(
    dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'A', name: 'x.test' }],
      answers: [{ type: 'A', name: 'ab.test', ttl: 1, data: '1.2.3.4' }],
    }),
  );
  b[b.indexOf(Buffer.from('ab'))] = 0x07;
  assert.equal(checkFraming(b), 'label with a dot, space, backslash or control byte');
});

test('compression pointer loops and forward pointers are rejected', () => {
  const header = Buffer.from([0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const selfLoop = Buffer.concat([header, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.equal(checkFraming(selfLoop), 'compression pointer does not point backwards');
  const forward = Buffer.concat([header, Buffer.from([0xc0, 20, 0, 1, 0, 1, 0, 0])]);
  assert.equal(checkFraming(forward), 'compression pointer does not point backwards');
});

test('class other than IN (and the mDNS cache-flush bit) is rejected', () => {
  const b = good();
  const classAt = A_RDLENGTH() - 6;
  b.writeUInt16BE(0x8001, classAt);
  assert.equal(checkFraming(b), 'record class is not IN');
});

test('a TTL with the top bit set is read as 0 (RFC 2181 section 8)', () => {
  const b = good();
  b.writeUInt32BE(0x80000001, A_RDLENGTH() - 4);
  const r = decodeReply(b);
  assert.ok(typeof r !== 'string');
  assert.equal(r.additionals[0]!.ttl, 0);
});

test('OPT outside the additional section, or twice, is rejected', () => {
  const opt = {
    type: 'OPT',
    name: '.',
    udpPayloadSize: 1232,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  } as dnsPacket.Answer;
  const twice = Buffer.from(
    dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x.test' }], additionals: [opt, opt] }),
  );
  assert.equal(checkFraming(twice), 'more than one OPT record');
  const inAnswer = Buffer.from(
    dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x.test' }], answers: [opt] }),
  );
  assert.equal(checkFraming(inAnswer), 'OPT record outside the additional section');
});

test('counts that lie are rejected without decoding', () => {
  const b = good();
  b.writeUInt16BE(40, 6);
  assert.ok(checkFraming(b));
  const many = Buffer.alloc(12);
  many.writeUInt16BE(1, 4);
  many.writeUInt16BE(65535, 6);
  assert.equal(checkFraming(many), 'more than 256 records');
  assert.equal(checkFraming(Buffer.alloc(5)), 'shorter than a DNS header');
});

test('SRV and NAPTR names must end exactly at RDLENGTH', () => {
  const b = good();
  const srvRdlenAt = b.indexOf(Buffer.from([0, 1, 0, 1, 0x13, 0xc4])) - 2;
  b.writeUInt16BE(b.readUInt16BE(srvRdlenAt) - 1, srvRdlenAt);
  assert.ok(checkFraming(b));
  const n = Buffer.from(
    dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'NAPTR', name: 'x.test' }],
      answers: [
        {
          type: 'NAPTR',
          name: 'x.test',
          ttl: 1,
          data: {
            order: 1,
            preference: 1,
            flags: 's',
            services: 'SIP+D2U',
            regexp: '',
            replacement: '_sip._udp.x.test',
          },
        },
      ],
    }),
  );
  assert.equal(checkFraming(n), undefined);
  const broken = Buffer.from(n);
  broken[broken.indexOf(Buffer.from('SIP+D2U')) - 1] = 40;
  assert.equal(checkFraming(broken), 'character-string runs past RDATA');
});

test('a record must decode to exactly its RDLENGTH (dns-packet would read the next record from inside a DNAME)', () => {
  const q = { type: 'A' as const, name: 'nothere.example.test' };
  const clean = Buffer.from(
    dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [q],
      authorities: [{ type: 'DNAME', name: 'example.test', ttl: 60, data: 'ns1.example.test' }],
    }),
  );
  assert.ok(typeof decodeReply(clean) !== 'string');
  const rdlenAt = clean.length - ('ns1.example.test'.length + 2) - 2;
  const padded = Buffer.concat([clean, Buffer.from([5, 0x68, 0x6f, 0x16, 0x74, 0x6d, 0])]);
  padded.writeUInt16BE(padded.readUInt16BE(rdlenAt) + 7, rdlenAt);
  assert.equal(checkFraming(padded), undefined, 'the walker itself is satisfied: RDATA stays inside the message');
  assert.equal(decodeReply(padded), 'a record does not decode to its RDLENGTH');
});

test('a question class other than IN is rejected', () => {
  const b = good();
  const qclassAt = 12 + '_sip._udp.example.test'.length + 2 + 2;
  b.writeUInt16BE(3, qclassAt);
  assert.equal(checkFraming(b), 'question class is not IN');
});
