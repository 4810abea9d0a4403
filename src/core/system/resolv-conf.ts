import { isIP } from 'node:net';

/** What a resolv.conf says, as far as the locator uses it. */
export interface ResolvConf {
  /** Nameserver addresses in file order ("ip" or "[ipv6]:53"; scoped IPv6 addresses are left out). */
  nameservers: string[];
  /** Search domains, lower case, no trailing dot (the last `search` or `domain` line wins, as in glibc). */
  search: string[];
  /** options ndots:N (glibc default 1, capped at 15). */
  ndots: number;
  /** options timeout:N in ms, when given (capped at 30 s). */
  timeoutMs?: number;
  /** options attempts:N, when given (capped at 5). */
  attempts?: number;
  /** options rotate. */
  rotate: boolean;
  /** Lines that were ignored and why (1-based line numbers), at most MAX_IGNORED. */
  ignored: Array<{ line: number; why: string }>;
}

/** Most search domains kept (glibc's old MAXDNSRCH). */
export const MAX_SEARCH_DOMAINS = 6;
/** Most nameserver lines kept. */
export const MAX_NAMESERVERS = 8;
/** Most ignored lines reported. */
export const MAX_IGNORED = 20;
/** Longest resolv.conf text read, characters (the rest is ignored). */
export const MAX_RESOLV_CONF_CHARS = 65536;

const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;

function clampedInt(text: string, max: number): number | undefined {
  if (!/^\d{1,6}$/.test(text)) return undefined;
  return Math.min(Number(text), max);
}

/** Parses resolv.conf text the way glibc reads it; unusable lines are ignored (and listed), nothing throws. */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], ndots: 1, rotate: false, ignored: [] };
  const ignore = (line: number, why: string): void => {
    if (out.ignored.length < MAX_IGNORED) out.ignored.push({ line, why });
  };
  const lines = String(text).slice(0, MAX_RESOLV_CONF_CHARS).split(/\r?\n/);
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#') || line.startsWith(';')) return;
    const [keyword = '', ...args] = line.split(/\s+/);
    switch (keyword) {
      case 'nameserver': {
        const addr = args[0] ?? '';
        if (addr.includes('%')) return ignore(n, 'scoped IPv6 nameserver addresses are not used');
        const family = isIP(addr);
        if (family === 0) return ignore(n, `"${addr.slice(0, 60)}" is not an IP address`);
        if (out.nameservers.length >= MAX_NAMESERVERS) return ignore(n, `more than ${MAX_NAMESERVERS} nameservers`);
        out.nameservers.push(family === 6 ? `[${addr}]:53` : addr);
        return;
      }
      case 'domain':
      case 'search': {
        const domains: string[] = [];
        for (const d of args) {
          if (d.startsWith('#') || d.startsWith(';')) break;
          const name = d.toLowerCase().replace(/\.$/, '');
          if (name.length === 0) continue;
          if (!DOMAIN_RE.test(name)) {
            ignore(n, `"${d.slice(0, 60)}" is not a domain name`);
            continue;
          }
          if (domains.length < MAX_SEARCH_DOMAINS && !domains.includes(name)) domains.push(name);
          if (keyword === 'domain') break;
        }
        out.search = domains;
        return;
      }
      case 'options':
        for (const opt of args) {
          const [name = '', value] = opt.split(':', 2);
          if (name === 'rotate') out.rotate = true;
          else if (name === 'ndots' || name === 'timeout' || name === 'attempts') {
            const v =
              value === undefined ? undefined : clampedInt(value, name === 'ndots' ? 15 : name === 'timeout' ? 30 : 5);
            if (v === undefined) ignore(n, `options ${opt.slice(0, 40)} needs a whole number`);
            else if (name === 'ndots') out.ndots = v;
            else if (name === 'timeout') out.timeoutMs = Math.max(1, v) * 1000;
            else out.attempts = Math.max(1, v);
          }
          // other options (edns0, single-request, trust-ad, ...) do not concern the locator
        }
        return;
      case 'sortlist':
      case 'lookup':
      case 'family':
        return;
      default:
        ignore(n, `unknown keyword "${keyword.slice(0, 40)}"`);
    }
  });
  return out;
}
