// A private CA and server certificates made with openssl in a temp dir, for TLS and WSS tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its key, PEM. */
export interface Pem {
  cert: string;
  key: string;
}

/** A private CA that issues server certificates; remove() deletes its files. */
export interface TestCa {
  ca: string;
  /** A server certificate with these subjectAltName entries ("DNS:a.test", "IP:127.0.0.1"). */
  issue(name: string, altNames: string[]): Pem;
  remove(): void;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes a CA valid for one day. */
export function makeTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'sip-pki-'));
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });
  };
  run([
    'req',
    '-x509',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=sip-locate test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let serial = 1;
  return {
    ca: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    issue(name, altNames) {
      const base = `leaf${serial}`;
      writeFileSync(
        join(dir, `${base}.ext`),
        `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${altNames.join(',')}\n`,
      );
      run(['req', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`]);
      run([
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(serial++),
        '-days',
        '1',
        '-out',
        `${base}.pem`,
        '-extfile',
        `${base}.ext`,
      ]);
      return {
        cert: readFileSync(join(dir, `${base}.pem`), 'utf8'),
        key: readFileSync(join(dir, `${base}.key`), 'utf8'),
      };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
