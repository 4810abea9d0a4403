// Test-run guard, loaded into every test process and every Node-RED the tests start (NODE_OPTIONS from
// test/run.mjs): traffic stays on this machine. The resolver's default `addressLookup: 'dns-then-system'`
// asks the operating system for names DNS does not know, and a resolver without nameservers asks the
// system's nameservers; in a test that would reach the machine's own (off-loopback) resolver. So:
//  - dns.lookup answers ENOTFOUND for names that are neither IP literals, `localhost`, nor listed in
//    /etc/hosts (read at each call, so a test may add a name), instead of asking nsswitch/DNS/mDNS;
//  - UDP and TCP sockets refuse to connect or send to an IP address outside 127.0.0.0/8 and ::1, with
//    ENETUNREACH, as an unreachable network would.
// Every refusal is written once to stderr ("loopback guard: ..."), so a test that tries is visible.
import dgram from 'node:dgram';
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const said = new Set();
function note(what) {
  if (said.has(what) || said.size > 100) return;
  said.add(what);
  process.stderr.write(`loopback guard: ${what}\n`);
}

function isLoopback(address) {
  const a = address.toLowerCase();
  if (net.isIPv4(a)) return a.startsWith('127.');
  if (net.isIPv6(a)) return a === '::1' || a.startsWith('::ffff:127.');
  return false;
}

function hostsNames() {
  const names = new Set(['localhost']);
  try {
    for (const line of readFileSync('/etc/hosts', 'utf8').split('\n')) {
      const fields = line.replace(/#.*/, '').trim().split(/\s+/);
      for (const name of fields.slice(1)) names.add(name.toLowerCase());
    }
  } catch {
    // no hosts file: localhost only
  }
  return names;
}

function known(host) {
  return net.isIP(host) !== 0 || hostsNames().has(host.toLowerCase().replace(/\.$/, ''));
}

function notFound(host) {
  note(`dns.lookup(${host}) answered ENOTFOUND without asking the system resolver`);
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), {
    code: 'ENOTFOUND',
    errno: -3008,
    syscall: 'getaddrinfo',
    hostname: host,
  });
}

function unreachable(kind, address, port) {
  note(`refused ${kind} to ${address}:${port}: tests stay on loopback`);
  return Object.assign(new Error(`connect ENETUNREACH ${address}:${port} (tests stay on loopback)`), {
    code: 'ENETUNREACH',
    errno: -101,
    syscall: 'connect',
    address,
    port,
  });
}

const lookup = dns.lookup;
dns.lookup = function guardedLookup(host, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  if (typeof host === 'string' && host !== '' && !known(host) && typeof cb === 'function') {
    const error = notFound(host);
    process.nextTick(() => cb(error));
    return {};
  }
  return lookup.call(this, host, options, callback);
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = async function guardedPromisesLookup(host, options) {
  if (typeof host === 'string' && host !== '' && !known(host)) throw notFound(host);
  return promisesLookup.call(this, host, options);
};

const udpConnect = dgram.Socket.prototype.connect;
dgram.Socket.prototype.connect = function guardedConnect(port, address) {
  // (port, address, callback): the callback reaches the original through `arguments`.
  if (typeof address === 'string' && net.isIP(address) !== 0 && !isLoopback(address)) {
    const error = unreachable('UDP', address, port);
    process.nextTick(() => this.emit('error', error));
    return;
  }
  return udpConnect.apply(this, arguments);
};
const udpSend = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function guardedSend(...args) {
  const address = args.find((a, i) => i > 0 && typeof a === 'string' && net.isIP(a) !== 0);
  if (address !== undefined && !isLoopback(address)) {
    const error = unreachable('UDP', address, args.find((a, i) => i > 0 && typeof a === 'number') ?? 0);
    const cb = args.find((a) => typeof a === 'function');
    process.nextTick(() => (cb ? cb(error) : this.emit('error', error)));
    return;
  }
  return udpSend.apply(this, args);
};
const tcpConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedTcpConnect(...args) {
  const first = args[0];
  const options = Array.isArray(first)
    ? first[0]
    : typeof first === 'object' && first !== null
      ? first
      : { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
  const host = options && typeof options.host === 'string' ? options.host : undefined;
  if (host !== undefined && net.isIP(host) !== 0 && !isLoopback(host)) {
    const error = unreachable('TCP', host, options.port);
    process.nextTick(() => this.destroy(error));
    return this;
  }
  return tcpConnect.apply(this, args);
};

syncBuiltinESMExports();
