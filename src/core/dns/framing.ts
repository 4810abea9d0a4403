/**
 * A wire-level sanity check run before dns-packet decodes a reply. dns-packet ignores RDLENGTH for
 * A/AAAA/NAPTR, does not escape label bytes and ignores trailing bytes; this walker rejects all that.
 */

const MAX_RECORDS = 256;
const MAX_POINTER_JUMPS = 64;

const T_A = 1;
const T_CNAME = 5;
const T_SOA = 6;
const T_AAAA = 28;
const T_SRV = 33;
const T_NAPTR = 35;
const T_OPT = 41;
const CLASS_IN = 1;

class Reject extends Error {}

function fail(reason: string): never {
  throw new Reject(reason);
}

/** Walks a name at `offset`; returns the offset just after it in place. `strict` rejects dots, controls and spaces in labels. */
function walkName(buf: Buffer, offset: number, strict: boolean): number {
  let pos = offset;
  let end = -1;
  let jumps = 0;
  let wireLength = 1;
  let lowest = offset;
  for (;;) {
    if (pos >= buf.length) fail('name runs past the end');
    const len = buf[pos]!;
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= buf.length) fail('pointer runs past the end');
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (target >= lowest) fail('compression pointer does not point backwards');
      if (++jumps > MAX_POINTER_JUMPS) fail('too many compression pointers');
      if (end < 0) end = pos + 2;
      lowest = target;
      pos = target;
      continue;
    }
    if (kind !== 0) fail('unknown label type');
    if (len === 0) return end < 0 ? pos + 1 : end;
    if (pos + 1 + len > buf.length) fail('label runs past the end');
    wireLength += len + 1;
    if (wireLength > 255) fail('name longer than 255 bytes');
    if (strict) {
      for (let i = pos + 1; i <= pos + len; i++) {
        const c = buf[i]!;
        if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c)
          fail('label with a dot, space, backslash or control byte');
      }
    }
    pos += 1 + len;
  }
}

function walkCharString(buf: Buffer, offset: number, limit: number): number {
  if (offset >= limit) fail('character-string runs past RDATA');
  const next = offset + 1 + buf[offset]!;
  if (next > limit) fail('character-string runs past RDATA');
  return next;
}

function checkRdata(buf: Buffer, type: number, start: number, rdlength: number): void {
  const limit = start + rdlength;
  switch (type) {
    case T_A:
      if (rdlength !== 4) fail('A record with RDLENGTH other than 4');
      return;
    case T_AAAA:
      if (rdlength !== 16) fail('AAAA record with RDLENGTH other than 16');
      return;
    case T_CNAME:
      if (walkName(buf, start, true) !== limit) fail('CNAME target does not end at RDLENGTH');
      return;
    case T_SRV:
      if (rdlength < 7) fail('SRV record too short');
      if (walkName(buf, start + 6, true) !== limit) fail('SRV target does not end at RDLENGTH');
      return;
    case T_NAPTR: {
      if (rdlength < 8) fail('NAPTR record too short');
      let p = start + 4;
      p = walkCharString(buf, p, limit);
      p = walkCharString(buf, p, limit);
      p = walkCharString(buf, p, limit);
      if (walkName(buf, p, true) !== limit) fail('NAPTR replacement does not end at RDLENGTH');
      return;
    }
    case T_SOA: {
      let p = walkName(buf, start, false);
      p = walkName(buf, p, false);
      if (p + 20 !== limit) fail('SOA record does not end at RDLENGTH');
      return;
    }
    default:
      return;
  }
}

/** Where each resource record of a well-framed reply starts and ends, or the reason the framing is wrong. */
export function frameRecords(buf: Buffer): Array<[number, number]> | string {
  try {
    return walkMessage(buf);
  } catch (err) {
    if (err instanceof Reject) return err.message;
    return 'unreadable message';
  }
}

function walkMessage(buf: Buffer): Array<[number, number]> {
  const bounds: Array<[number, number]> = [];
  if (buf.length < 12) fail('shorter than a DNS header');
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  if (qd !== 1) fail('question count is not 1');
  if (an + ns + ar > MAX_RECORDS) fail('more than 256 records');
  let pos = walkName(buf, 12, true);
  if (pos + 4 > buf.length) fail('question runs past the end');
  if (buf.readUInt16BE(pos + 2) !== CLASS_IN) fail('question class is not IN');
  pos += 4;
  let opts = 0;
  const sections = [an, ns, ar];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < sections[s]!; i++) {
      const owner = pos;
      pos = walkName(buf, pos, s !== 1);
      if (pos + 10 > buf.length) fail('record header runs past the end');
      const type = buf.readUInt16BE(pos);
      const klass = buf.readUInt16BE(pos + 2);
      const rdlength = buf.readUInt16BE(pos + 8);
      const start = pos + 10;
      if (start + rdlength > buf.length) fail('RDATA runs past the end');
      if (type === T_OPT) {
        if (s !== 2) fail('OPT record outside the additional section');
        if (buf[owner] !== 0) fail('OPT record owner is not the root');
        if (++opts > 1) fail('more than one OPT record');
      } else {
        if (klass !== CLASS_IN) fail('record class is not IN');
        checkRdata(buf, type, start, rdlength);
      }
      pos = start + rdlength;
      bounds.push([owner, pos]);
    }
  }
  if (pos !== buf.length) fail('trailing bytes after the last record');
  return bounds;
}
