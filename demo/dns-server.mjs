// A tiny authoritative DNS server for the demo (and the example tests): serves one zone from a record list
// over UDP and TCP on a loopback address, with SRV target addresses in the additional section.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import dnsPacket from 'dns-packet';
import { withFreshPortOnClash } from './ports.mjs';

/** Records of the demo zone for the given SIP endpoints ({name: {address, port}}). */
export function demoZone(origin, ep) {
  const n = (s) => (s ? `${s}.${origin}` : origin);
  const A = (name, address) => ({ type: 'A', name: n(name), ttl: 60, data: address });
  const SRV = (name, priority, weight, port, target) => ({ type: 'SRV', name: n(name), ttl: 60, data: { priority, weight, port, target: n(target) } });
  return [
    { type: 'SOA', name: origin, ttl: 60, data: { mname: n('ns'), rname: n('hostmaster'), serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 30 } },
    A('ns', '127.0.0.1'),
    // pbx: NAPTR -> SRV; a busy server (503) and a silent one at priority 10, the healthy one at 20.
    { type: 'NAPTR', name: n('pbx'), ttl: 60, data: { order: 10, preference: 10, flags: 's', services: 'SIP+D2U', regexp: '', replacement: n('_sip._udp.pbx') } },
    { type: 'NAPTR', name: n('pbx'), ttl: 60, data: { order: 20, preference: 10, flags: 's', services: 'SIP+D2T', regexp: '', replacement: n('_sip._tcp.pbx') } },
    SRV('_sip._udp.pbx', 10, 50, ep.busy.port, 'busy'),
    SRV('_sip._udp.pbx', 10, 50, ep.silent.port, 'silent'),
    SRV('_sip._udp.pbx', 20, 0, ep.healthy.port, 'healthy'),
    SRV('_sip._tcp.pbx', 10, 0, ep.healthy.port, 'healthy'),
    // registrar: two healthy servers sharing the load: without sticky mode requests alternate between them.
    SRV('_sip._udp.registrar', 10, 50, ep.healthy.port, 'healthy'),
    SRV('_sip._udp.registrar', 10, 50, ep.healthy2.port, 'healthy2'),
    // ENUM tree (example 07): +1 202 555 0101 leads to pbx (failover to the healthy server); other numbers use the gateway.
    { type: 'NAPTR', name: n('1.0.1.0.5.5.5.2.0.2.1.e164'), ttl: 60, data: { order: 10, preference: 10, flags: 'u', services: 'E2U+sip', regexp: '!^\\+(.*)$!sip:\\1@pbx.' + origin + '!', replacement: '.' } },
    { type: 'NAPTR', name: n('1.0.1.0.5.5.5.2.0.2.1.e164'), ttl: 60, data: { order: 10, preference: 20, flags: 'u', services: 'E2U+email:mailto', regexp: '!^.*$!mailto:info@' + origin + '!', replacement: '.' } },
    SRV('_sip._udp.gateway', 10, 0, ep.healthy2.port, 'healthy2'),
    A('healthy', ep.healthy.address),
    A('healthy2', ep.healthy2.address),
    A('busy', ep.busy.address),
    A('silent', ep.silent.address),
  ];
}

/** Starts the server on address:port (port 0 = a free one); resolves {address, port, nameserver, queries, stop()}. */
export function startZoneServer({ address = '127.0.0.1', port = 0, origin, records }) {
  return withFreshPortOnClash(port, (p) => startZoneServerOn({ address, port: p, origin, records }));
}

async function startZoneServerOn({ address, port, origin, records }) {
  const lower = (s) => s.toLowerCase().replace(/\.$/, '');
  const soa = records.find((r) => r.type === 'SOA');
  const names = new Set(records.map((r) => lower(r.name)));
  const state = { queries: 0 };
  const answer = (query) => {
    const q = query.questions?.[0];
    const base = { type: 'response', id: query.id, flags: dnsPacket.AUTHORITATIVE_ANSWER, questions: query.questions ?? [] };
    if (!q) return dnsPacket.encode({ ...base, flags: base.flags | 1 });
    const name = lower(q.name);
    const inZone = name === lower(origin) || name.endsWith('.' + lower(origin));
    if (!inZone) return dnsPacket.encode({ ...base, flags: 5 });
    const answers = records.filter((r) => lower(r.name) === name && r.type === q.type).map((r) => ({ ...r, name: q.name }));
    const additionals = [];
    for (const a of answers) {
      if (a.type === 'SRV') for (const r of records) if (lower(r.name) === lower(a.data.target) && (r.type === 'A' || r.type === 'AAAA')) additionals.push(r);
    }
    if (answers.length === 0) {
      const rcode = names.has(name) ? 0 : 3;
      return dnsPacket.encode({ ...base, flags: base.flags | rcode, authorities: [soa] });
    }
    return dnsPacket.encode({ ...base, answers, additionals });
  };
  const udp = createSocket('udp4');
  udp.on('message', (buf, rinfo) => {
    state.queries++;
    try {
      udp.send(answer(dnsPacket.decode(buf)), rinfo.port, rinfo.address);
    } catch {
      // not DNS: ignore
    }
  });
  await new Promise((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, address, resolve);
  });
  const boundPort = udp.address().port;
  const tcp = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        state.queries++;
        try {
          const out = answer(dnsPacket.decode(msg));
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          sock.write(Buffer.concat([len, out]));
        } catch {
          sock.destroy();
        }
      }
    });
  });
  await new Promise((resolve, reject) => {
    tcp.once('error', (err) => udp.close(() => reject(err)));
    tcp.listen(boundPort, address, resolve);
  });
  return {
    address,
    port: boundPort,
    nameserver: `${address}:${boundPort}`,
    get queries() {
      return state.queries;
    },
    async stop() {
      await new Promise((r) => udp.close(r));
      await new Promise((r) => tcp.close(r));
    },
  };
}
