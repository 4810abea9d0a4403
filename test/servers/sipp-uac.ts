/** sipp as a caller: runs a UAC scenario against a SIP server (a proxy) on loopback and reports how it ended. */
import { spawn } from 'node:child_process';
import { freePortBlock } from './ports';
import { scenarioPath } from './sipp';

/** What one sipp UAC run did: its exit code (0: every call succeeded) and the end of its error output. */
export interface UacRun {
  code: number | null;
  stderr: string;
}

/** Sends `calls` calls of `scenario` to `server` ("127.0.0.1:5060"), `limit` at a time, for sip:<service>@<domain>. */
export async function runSippUac(o: {
  scenario: string;
  server: string;
  domain: string;
  service?: string;
  calls: number;
  rate?: number;
  limit?: number;
  timeoutS?: number;
  callIds?: string;
}): Promise<UacRun> {
  // One block: the SIP port, the control port, and the media port with the three sipp binds after it (audio and video
  // RTP/RTCP); a lone free media port let video RTP collide with a neighbour.
  const base = await freePortBlock(6, '127.0.0.1');
  const args = [
    '-sf',
    scenarioPath(o.scenario),
    o.server,
    '-i',
    '127.0.0.1',
    '-p',
    String(base),
    '-t',
    'u1',
    '-m',
    String(o.calls),
    '-r',
    String(o.rate ?? 100),
    '-l',
    String(o.limit ?? 1),
    '-key',
    'domain',
    o.domain,
    '-s',
    o.service ?? 'alice',
    '-nostdin',
    '-skip_rlimit',
    '-cp',
    String(base + 1),
    '-mi',
    '127.0.0.1',
    '-mp',
    String(base + 2),
    '-timeout',
    `${o.timeoutS ?? 30}s`,
    '-timeout_error',
    // callIds: sipp's -cid_str pattern (%u the call number), for Call-IDs that repeat from run to run.
    ...(o.callIds !== undefined ? ['-cid_str', o.callIds] : []),
  ];
  const child = spawn('sipp', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  return { code, stderr };
}
