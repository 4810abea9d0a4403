/** Prometheus metrics of one resolver on prom-client, in a registry of its own (never the shared default registry). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SipLocator } from '../core/locator';
import type { ResolverEvent } from '../core/events';
import type { StoreStatus } from '../store/types';

/** The health of one monitored target, as far as metrics need it. */
export interface HealthLike {
  state: string;
}

/** What a resolver's metrics read when they are collected. */
export interface MetricsSources {
  /** The state store's status (undefined: memory). */
  store?: () => StoreStatus | undefined;
  /** Health of monitored targets, when probing runs. */
  health?: () => readonly HealthLike[];
}

/** RTT buckets of probes, seconds. */
const RTT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5];
/** Buckets of a sip-locate lookup, seconds: a cached answer takes microseconds, one asking DNS milliseconds or more. */
const LOOKUP_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const STORE_STATES = ['memory', 'connecting', 'up', 'down'] as const;

/** Sets an unlabelled counter to a cumulative value read at collection time. */
function setCounter(c: Counter<string>, value: number): void {
  c.reset();
  if (value > 0) c.inc(value);
}

/** The metrics of one resolver; counters fed by its events and DNS queries, gauges read on collection. */
export class ResolverMetrics {
  /** The registry to scrape. */
  readonly registry = new Registry();
  private sources: MetricsSources = {};
  private readonly probes: Counter<'result'>;
  private readonly rtt: Histogram<string>;
  private readonly lookups: Histogram<string>;
  private readonly stops: Array<() => void> = [];

  constructor(locator: SipLocator) {
    const r = [this.registry];
    // collect() runs with `this` bound to the metric: it reads the sources set later through this function.
    const sources = (): MetricsSources => this.sources;
    new Counter({
      name: 'sip_locate_locates_total',
      help: 'Finished locates by result (ok or an error code).',
      labelNames: ['result'],
      registers: r,
      collect() {
        this.reset();
        for (const [result, n] of Object.entries(locator.counters().locates)) this.inc({ result }, n);
      },
    });
    new Counter({
      name: 'sip_locate_plan_cache_hits_total',
      help: 'Locates answered from a cached plan.',
      registers: r,
      collect() {
        setCounter(this, locator.counters().planHits);
      },
    });
    new Counter({
      name: 'sip_locate_plan_cache_misses_total',
      help: 'Locates that had to ask DNS for a plan.',
      registers: r,
      collect() {
        setCounter(this, locator.counters().planMisses);
      },
    });
    new Counter({
      name: 'sip_locate_dns_cache_hits_total',
      help: 'DNS questions answered from the DNS cache.',
      registers: r,
      collect() {
        setCounter(this, locator.dns?.stats().cacheHits ?? 0);
      },
    });
    new Counter({
      name: 'sip_locate_stale_answers_total',
      help: 'DNS answers served from expired data (RFC 8767 serve-stale).',
      registers: r,
      collect() {
        setCounter(this, locator.dns?.stats().staleAnswers ?? 0);
      },
    });
    new Counter({
      name: 'sip_locate_failovers_total',
      help: 'Failovers from a failed target to the next one.',
      registers: r,
      collect() {
        setCounter(this, locator.counters().failovers);
      },
    });
    const queries = new Counter({
      name: 'sip_locate_dns_queries_total',
      help: 'DNS questions sent to a nameserver, by nameserver and outcome.',
      labelNames: ['nameserver', 'outcome'],
      registers: r,
    });
    const timeouts = new Counter({
      name: 'sip_locate_dns_timeouts_total',
      help: 'DNS questions that timed out, by nameserver.',
      labelNames: ['nameserver'],
      registers: r,
    });
    const errors = new Counter({
      name: 'sip_locate_dns_errors_total',
      help: 'DNS questions that failed, by nameserver and error code.',
      labelNames: ['nameserver', 'code'],
      registers: r,
    });
    const marks = new Counter({
      name: 'sip_locate_marks_total',
      help: 'Failure marks set, by kind (grey, black).',
      labelNames: ['kind'],
      registers: r,
    });
    const events = new Counter({
      name: 'sip_locate_events_total',
      help: 'Resolver events, by op.',
      labelNames: ['op'],
      registers: r,
    });
    new Gauge({
      name: 'sip_locate_marks',
      help: 'Failure marks in force, by kind.',
      labelNames: ['kind'],
      registers: r,
      collect() {
        const { marks: list } = locator.state();
        this.set({ kind: 'grey' }, list.filter((m) => m.mark === 'grey').length);
        this.set({ kind: 'black' }, list.filter((m) => m.mark === 'black').length);
      },
    });
    new Gauge({
      name: 'sip_locate_pins',
      help: 'Sticky pins held.',
      registers: r,
      collect() {
        this.set(locator.held().pins);
      },
    });
    new Gauge({
      name: 'sip_locate_targets',
      help: 'Targets by health state (up, down, unknown from probing; drain, disable from operators).',
      labelNames: ['state'],
      registers: r,
      collect() {
        this.reset();
        const counts: Record<string, number> = { up: 0, down: 0, unknown: 0, drain: 0, disable: 0 };
        for (const h of sources().health?.() ?? []) if (h.state in counts) counts[h.state]!++;
        for (const a of locator.adminStates()) counts[a.state] = (counts[a.state] ?? 0) + 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'sip_locate_store_state',
      help: 'The state store: 1 for its current state, 0 for the others.',
      labelNames: ['kind', 'state'],
      registers: r,
      collect() {
        this.reset();
        const s = sources().store?.();
        const kind = s?.kind ?? 'memory';
        const now = s?.state ?? 'memory';
        for (const state of STORE_STATES) this.set({ kind, state }, state === now ? 1 : 0);
      },
    });
    this.probes = new Counter({
      name: 'sip_locate_probes_total',
      help: 'OPTIONS probes, by result (ok or an error code).',
      labelNames: ['result'],
      registers: r,
    });
    this.rtt = new Histogram({
      name: 'sip_locate_probe_rtt_seconds',
      help: 'Round-trip time of answered OPTIONS probes, seconds.',
      buckets: RTT_BUCKETS,
      registers: r,
    });
    this.lookups = new Histogram({
      name: 'sip_locate_lookup_duration_seconds',
      help: 'Time a sip-locate node took from a message to its answer (output 1 or 2), seconds.',
      buckets: LOOKUP_BUCKETS,
      registers: r,
    });
    this.stops.push(
      locator.onQuery((e) => {
        if (e.outcome === 'cache') return;
        const nameserver = e.nameserver ?? 'none';
        queries.inc({ nameserver, outcome: e.outcome });
        if (e.outcome !== 'error') return;
        if (e.code === 'ETIMEOUT') timeouts.inc({ nameserver });
        errors.inc({ nameserver, code: e.code ?? 'EINTERNAL' });
      }),
    );
    this.stops.push(
      locator.events.on((e: ResolverEvent) => {
        events.inc({ op: e.op });
        if (e.op === 'mark' && e.state) marks.inc({ kind: e.state });
      }),
    );
  }

  /** Where store status and health come from (a redeployed config node hands over its own). */
  setSources(sources: MetricsSources): void {
    this.sources = sources;
  }

  /** Counts one probe (result 'ok' or an error code) and, when answered, its round-trip time. */
  observeProbe(result: string, rttMs?: number): void {
    this.probes.inc({ result });
    if (rttMs !== undefined && Number.isFinite(rttMs) && rttMs >= 0) this.rtt.observe(rttMs / 1000);
  }

  /** Records how long one sip-locate lookup took, ms. */
  observeLookup(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.lookups.observe(ms / 1000);
  }

  /** The exposition text and the same values as objects. */
  async collect(): Promise<{
    text: string;
    json: Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
    contentType: string;
  }> {
    const text = await this.registry.metrics();
    const json = await this.registry.getMetricsAsJSON();
    return { text, json, contentType: this.registry.contentType };
  }

  /** Stops listening (the locator is closing). */
  close(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.registry.clear();
  }
}

const byLocator = new WeakMap<SipLocator, ResolverMetrics>();

/** The metrics of a locator, created on first use; they live as long as the locator. */
export function metricsFor(locator: SipLocator): ResolverMetrics {
  let m = byLocator.get(locator);
  if (!m) {
    m = new ResolverMetrics(locator);
    byLocator.set(locator, m);
  }
  return m;
}
