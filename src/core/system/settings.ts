import { getServers } from 'node:dns';
import { readFileSync } from 'node:fs';
import { parseResolvConf, type ResolvConf } from './resolv-conf';

/** Where the system settings come from; injectable for tests. */
export interface SystemSources {
  /** resolv.conf path (default /etc/resolv.conf); a missing file means glibc defaults. */
  resolvConfPath?: string;
  /** The OS's nameservers (default Node's dns.getServers(), which reads Windows and macOS settings too). */
  getServers?: () => string[];
}

/** The system's resolver settings. */
export interface SystemSettings {
  /** Nameservers from getServers(), else from resolv.conf; may be empty. */
  nameservers: string[];
  /** The parsed resolv.conf (defaults when the file is missing or unreadable). */
  conf: ResolvConf;
  /** The resolv.conf path that was read. */
  path: string;
  /** False when the file could not be read. */
  read: boolean;
}

/** Reads the system resolver settings; never throws. */
export function loadSystemSettings(sources: SystemSources = {}): SystemSettings {
  const path = sources.resolvConfPath ?? '/etc/resolv.conf';
  let text = '';
  let read = true;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    read = false;
  }
  const conf = parseResolvConf(text);
  let fromOs: string[] = [];
  try {
    fromOs = (sources.getServers ?? getServers)().filter((s) => typeof s === 'string' && !s.includes('%'));
  } catch {
    fromOs = [];
  }
  return { nameservers: fromOs.length > 0 ? fromOs : conf.nameservers, conf, path, read };
}
