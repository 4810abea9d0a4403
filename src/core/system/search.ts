/** Search list settings of the system resolver. */
export interface SearchSettings {
  /** Search domains, in order. */
  domains: readonly string[];
  /** Names with fewer dots than this try the search domains first. */
  ndots: number;
}

/**
 * The names to try for a host, in order, as glibc's res_search does: an absolute name (trailing dot) only itself;
 * fewer dots than ndots: each search domain first, then the name itself; otherwise the name itself first.
 */
export function searchCandidates(host: string, absolute: boolean, search: SearchSettings | undefined): string[] {
  if (absolute || !search || search.domains.length === 0) return [host];
  const dots = host.split('.').length - 1;
  const expanded = search.domains.map((d) => `${host}.${d}`).filter((n) => n.length <= 253);
  return dots < search.ndots ? [...expanded, host] : [host, ...expanded];
}
