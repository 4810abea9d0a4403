// Shared by the system and rfc3263 tests: NSD behind a counting proxy for one describe block, temp zone files, trace helpers.
import { after, before } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TraceNode } from '../../src/core/types';
import { startDnsServer, type RunningDnsServer, type ZoneSpec } from '../servers/dns-servers';
import { startProxy, type DnsProxy } from '../servers/proxy';

/** Every node of a trace tree, depth first. */
export function flatten(node: TraceNode | undefined, out: TraceNode[] = []): TraceNode[] {
  if (!node) return out;
  out.push(node);
  for (const c of node.children) flatten(c, out);
  return out;
}

/** The notes of a trace tree, in order. */
export function notes(node: TraceNode | undefined): string[] {
  return flatten(node).flatMap((n) => (n.kind === 'note' && n.note ? [n.note] : []));
}

/** Zone text for `origin` with SOA, NS and ns1, followed by `lines`. */
export function zoneText(origin: string, lines: string[]): string {
  return (
    [
      `$ORIGIN ${origin}.`,
      '$TTL 300',
      '@ IN SOA ns1 h 1 3600 600 86400 60',
      ' IN NS ns1',
      'ns1 IN A 127.0.0.1',
      ...lines,
    ].join('\n') + '\n'
  );
}

/** Running NSD and the proxy in front of it, valid inside the tests of the describe block. */
export interface ServedZones {
  server: RunningDnsServer;
  proxy: DnsProxy;
  /** A temp dir for files the tests write (removed after the block). */
  dir: string;
}

/** Starts NSD (behind a counting proxy) in before() and stops it in after(); `zones` may be zone texts by origin. */
export function nsdWithProxy(zones: Array<ZoneSpec | { origin: string; text: string }>): ServedZones {
  const s = {} as ServedZones;
  before(async () => {
    s.dir = mkdtempSync(join(tmpdir(), 'sip-zones-'));
    const specs = zones.map((z): ZoneSpec => {
      if ('file' in z) return z;
      const file = join(s.dir, `${z.origin}.zone`);
      writeFileSync(file, z.text);
      return { origin: z.origin, file };
    });
    s.server = await startDnsServer('nsd', { zones: specs });
    s.proxy = await startProxy({ upstream: s.server.nameserver });
  });
  after(async () => {
    await s.proxy?.stop();
    await s.server?.stop();
    if (s.dir) rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}
