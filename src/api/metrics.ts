// Prometheus metrics: one Registry per server (tests run several side by side). Device figures are read
// from the DeviceView when Prometheus scrapes (collect()), never pushed from the hot path; only the HTTP
// counters are updated per request.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { INDICATORS } from '../model/indicators.ts';
import type { ComponentState, DeviceView, LatencySummaryView, StatusView } from '../model/device.ts';

const STATES: readonly ComponentState[] = ['ok', 'degraded', 'failed', 'absent'];

export interface ApiMetrics {
  registry: Registry;
  /** `seconds` null: counted but not timed (a live stream's length is not a latency). */
  observeHttp(route: string, method: string, status: number, seconds: number | null): void;
}

/** Counters whose value lives in the device: set to the device's figure at scrape time. */
function setCounter(c: Counter<string>, labels: Record<string, string> | null, value: number): void {
  if (labels === null) {
    c.reset();
    c.inc(Math.max(0, value));
  } else {
    c.remove(labels);
    c.inc(labels, Math.max(0, value));
  }
}

export function createMetrics(device: DeviceView, liveClients: () => number = () => 0): ApiMetrics {
  const registry = new Registry();
  const reg = [registry];

  new Counter({
    name: 'svde_frames_received_total',
    help: 'SV frames received by the capture',
    registers: reg,
    collect() {
      setCounter(this, null, device.health().capture.received);
    },
  });
  new Counter({
    name: 'svde_frames_lost_total',
    help: 'Frames lost by the capture (not by the network), by where: kernel, interface, queue',
    labelNames: ['where'],
    registers: reg,
    collect() {
      const c = device.health().capture;
      setCounter(this, { where: 'kernel' }, c.kernelDrops);
      setCounter(this, { where: 'interface' }, c.ifDrops);
      setCounter(this, { where: 'queue' }, c.queueDrops);
    },
  });
  new Counter({
    name: 'svde_alarms_total',
    help: 'Alarms raised, by indicator',
    labelNames: ['indicator'],
    registers: reg,
    collect() {
      const s = device.status();
      for (const id of INDICATORS) setCounter(this, { indicator: id }, s.indicators[id].count);
    },
  });
  new Gauge({
    name: 'svde_nu',
    help: 'Anomaly index νn (1 while any indicator is latched)',
    registers: reg,
    collect() {
      this.set(device.status().nu);
    },
  });
  new Gauge({
    name: 'svde_indicator_latched',
    help: '1 while the indicator is raised and not acknowledged',
    labelNames: ['indicator', 'grade'],
    registers: reg,
    collect() {
      const s = device.status();
      for (const id of INDICATORS) this.set({ indicator: id, grade: String(s.indicators[id].grade) }, s.indicators[id].latched ? 1 : 0);
    },
  });
  new Gauge({
    name: 'svde_indicator_active',
    help: '1 while an alarm episode of the indicator is running',
    labelNames: ['indicator'],
    registers: reg,
    collect() {
      const s = device.status();
      for (const id of INDICATORS) this.set({ indicator: id }, s.indicators[id].active ? 1 : 0);
    },
  });
  new Gauge({
    name: 'svde_component_state',
    help: '1 for the current state of each component (capture, chip, storage, led)',
    labelNames: ['component', 'state'],
    registers: reg,
    collect() {
      const h = device.health();
      for (const component of ['capture', 'chip', 'storage', 'led'] as const) {
        for (const state of STATES) this.set({ component, state }, h[component].state === state ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'svde_storage_bytes',
    help: 'Evidence store size and limit',
    labelNames: ['kind'],
    registers: reg,
    collect() {
      const st = device.health().storage;
      this.set({ kind: 'size' }, st.sizeBytes);
      this.set({ kind: 'limit' }, st.limitBytes);
    },
  });
  new Gauge({
    name: 'svde_storage_pending_rows',
    help: 'Rows waiting to be committed',
    registers: reg,
    collect() {
      this.set(device.health().storage.pending);
    },
  });
  new Gauge({
    name: 'svde_chip_verified_per_second',
    help: 'Signatures verified per second by the crypto chip',
    registers: reg,
    collect() {
      this.set(device.health().chip.verifiedPerSecond);
    },
  });
  new Gauge({
    name: 'svde_chip_queue_depth',
    help: 'Frames waiting for the crypto chip',
    registers: reg,
    collect() {
      this.set(device.health().chip.queueDepth);
    },
  });
  new Gauge({
    name: 'svde_stream_frames_per_second',
    help: 'Frames per second observed per stream',
    labelNames: ['stream'],
    registers: reg,
    collect() {
      this.reset();
      for (const s of device.streams()) this.set({ stream: s.name }, s.framesPerSecond);
    },
  });
  new Gauge({
    name: 'svde_live_clients',
    help: 'Open Server-Sent Events streams (/api/v1/live)',
    registers: reg,
    collect() {
      this.set(liveClients());
    },
  });
  // The real-time thread's own figures (kernel timestamp → verdict over every frame; no metric until it reported).
  const latency = (name: string, help: string, pick: (r: NonNullable<StatusView['realtime']>) => LatencySummaryView): void => {
    new Gauge({
      name,
      help,
      labelNames: ['quantile'],
      registers: reg,
      collect() {
        const r = device.status().realtime;
        if (r === undefined || r === null) return;
        const l = pick(r);
        for (const [q, v] of [
          ['0.5', l.p50],
          ['0.99', l.p99],
          ['0.999', l.p999],
          ['1', l.max],
        ] as const)
          if (v !== null) this.set({ quantile: q }, v);
      },
    });
  };
  latency(
    'svde_verdict_latency_microseconds',
    'Arrival (kernel timestamp) to verdict of every frame since start, µs',
    (r) => r.verdictLatencyUs,
  );
  latency(
    'svde_capture_kernel_lag_microseconds',
    'Kernel timestamp to the capture thread reading the frame, µs (the share before SVDE runs)',
    (r) => r.kernelLagUs,
  );
  latency('svde_signature_lag_microseconds', 'Signature verification asked to answered, µs', (r) => r.signatureLagUs);
  latency('svde_verdict_to_led_microseconds', 'Alarm raised on the real-time thread to LED pattern set, µs', (r) => r.verdictToLedUs);
  new Counter({
    name: 'svde_evidence_dropped_total',
    help: 'Evidence items the real-time thread dropped because the main thread was slow (alarms are never dropped)',
    registers: reg,
    collect() {
      const r = device.status().realtime;
      if (r !== undefined && r !== null) setCounter(this, null, r.evidenceDropped);
    },
  });
  new Gauge({
    name: 'svde_realtime_cpu_ns_per_frame',
    help: 'CPU of the real-time thread per frame since start, ns',
    registers: reg,
    collect() {
      const r = device.status().realtime;
      if (r !== undefined && r !== null && r.cpuNsPerFrame !== null) this.set(r.cpuNsPerFrame);
    },
  });
  const http = new Counter({
    name: 'svde_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: reg,
  });
  const duration = new Histogram({
    name: 'svde_http_request_duration_seconds',
    help: 'HTTP request duration by route template',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: reg,
  });

  return {
    registry,
    observeHttp(route, method, status, seconds) {
      http.inc({ route, method, status: String(status) });
      if (seconds !== null) duration.observe({ route }, seconds);
    },
  };
}
