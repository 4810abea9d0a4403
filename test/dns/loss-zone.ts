// A zone of many SIP domains (NAPTR -> SRV -> A/AAAA each), so that every locate of a run is cold.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Origin of the generated zone. */
export const LOSS_ORIGIN = 'loss.test';

/** The SIP URI of domain i of the zone. */
export function lossUri(i: number): string {
  return `sip:d${i}.${LOSS_ORIGIN}`;
}

/** Writes a zone with `domains` SIP domains d0..d{n-1}.loss.test into a temp dir; remove() deletes it. */
export function writeLossZone(domains: number): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'loss-zone-'));
  const lines = [
    `$ORIGIN ${LOSS_ORIGIN}.`,
    '$TTL 300',
    '@ IN SOA ns1 hostmaster 1 3600 600 86400 60',
    '@ IN NS ns1',
    'ns1 IN A 127.0.0.1',
  ];
  for (let i = 0; i < domains; i++) {
    lines.push(
      `d${i} IN NAPTR 10 50 "s" "SIP+D2U" "" _sip._udp.d${i}`,
      `_sip._udp.d${i} IN SRV 10 50 5060 sip.d${i}`,
      `sip.d${i} IN A 192.0.2.${(i % 250) + 1}`,
      `sip.d${i} IN AAAA 2001:db8::${(i % 65000).toString(16)}`,
    );
  }
  const file = join(dir, `${LOSS_ORIGIN}.zone`);
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
