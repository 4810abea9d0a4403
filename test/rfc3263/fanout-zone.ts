// A hostile zone for budget tests: amp.test has 64 SIP NAPTRs of one order, each pointing at an SRV set of 64 targets.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The zone's origin. */
export const FANOUT_ORIGIN = 'amp.test';

/** Zone text: 64 NAPTRs x 64 SRV targets (each target h<j>-n<i>.amp.test answers A 127.0.20.1 through a wildcard). */
export function fanoutZoneText(naptrs = 64, srvs = 64): string {
  const lines = [
    '$ORIGIN amp.test.',
    '$TTL 300',
    '@ IN SOA ns1 h 1 3600 600 86400 60',
    ' IN NS ns1',
    'ns1 IN A 127.0.0.1',
    '* IN A 127.0.20.1',
    'few IN NAPTR 10 10 "s" "SIP+D2U" "" _sip._udp.n0',
  ];
  for (let i = 0; i < naptrs; i++) {
    lines.push(`@ IN NAPTR 10 ${i} "s" "SIP+D2U" "" _sip._udp.n${i}`);
    for (let j = 0; j < srvs; j++) lines.push(`_sip._udp.n${i} IN SRV ${j} 0 5060 h${j}-n${i}`);
  }
  return lines.join('\n') + '\n';
}

/** Writes the zone into a temp dir; returns its file and a function that removes the dir. */
export function writeFanoutZone(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sip-fanout-'));
  const file = join(dir, 'amp.test.zone');
  writeFileSync(file, fanoutZoneText());
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
