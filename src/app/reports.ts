// The main thread's side of the real-time thread's once-a-second report (src/app/appliance.ts wires it):
// what it keeps of the last one, the capture health and real-time view computed from it, and the per-tick
// handling that turns it into store counters, capture-loss events, live events and the systemd status.
import { realtimeNs } from '../native/index.ts';
import type { MonitorReport } from '../capture/stream-monitor.ts';
import { LatencyHistogram } from '../capture/histogram.ts';
import type { HealthView, RealtimeView } from '../model/device.ts';
import type { EvidenceStore } from '../store/store.ts';
import type { RealtimeReady } from '../realtime/host.ts';
import type { TickReport } from '../realtime/protocol.ts';
import type { Device } from './device.ts';
import type { SystemdNotifier } from './systemd.ts';

/** How long capture may stay silent before the watchdog stops pinging (a hung capture or real-time thread). */
const CAPTURE_STALL_NS = 5_000_000_000n;

const summaryOf = (h: LatencyHistogram): RealtimeView['verdictLatencyUs'] => h.summary();

/** What the main thread knows of the real-time thread between its reports. */
export class RealtimeTracker {
  /** The last report (none before the first tick). */
  last: TickReport | undefined;
  /** Why capture (or the real-time thread) stopped; null while it runs. */
  captureError: string | null = null;
  /** The demo's scripted scenario now playing. */
  scenario: string | null = null;
  /** What the capture health names as its interface (set once the frame source is known). */
  iface = '';
  #lastFrames = 0;
  #lastFramesNs = realtimeNs();

  /** From an alarm's raise on the real-time thread to the status event the LED follows. */
  readonly #verdictToLed: LatencyHistogram;

  constructor(verdictToLed: LatencyHistogram) {
    this.#verdictToLed = verdictToLed;
  }

  update(r: TickReport): void {
    this.last = r;
    if (r.frames > this.#lastFrames) {
      this.#lastFrames = r.frames;
      this.#lastFramesNs = realtimeNs();
    }
  }

  /** The watchdog's condition: capture runs and frames arrived within the stall time. */
  capturing(): boolean {
    return this.captureError === null && realtimeNs() - this.#lastFramesNs < CAPTURE_STALL_NS;
  }

  /** The monitor's last report, naming the demo's scenario. */
  monitorReport(): MonitorReport | undefined {
    return this.last === undefined ? undefined : this.monitorOf(this.last);
  }

  monitorOf(r: TickReport): MonitorReport {
    return { ...r.monitor, ...(this.scenario !== null ? { scenario: this.scenario } : {}) };
  }

  captureHealth(): HealthView['capture'] {
    const st = this.last?.capture ?? null;
    const stalled = this.#stalled();
    const linkDown = st !== null && !st.linkUp;
    const latency = this.last?.monitor.latencyMs;
    return {
      state: this.captureError !== null ? 'failed' : linkDown || stalled ? 'degraded' : 'ok',
      iface: this.iface,
      received: st?.received ?? 0,
      kernelDrops: st?.kernelDrops ?? 0,
      ifDrops: st?.ifDrops ?? 0,
      queueDrops: st?.queueDrops ?? 0,
      latencyP99Us: latency !== undefined ? Math.round(latency.p99 * 1000) : null,
      detail: this.captureError ?? (linkDown ? 'link down' : stalled ? 'no frames for 5 s' : null),
    };
  }

  realtimeView(ready: RealtimeReady): RealtimeView | null {
    const t = this.last;
    if (t === undefined) return null;
    return {
      thread: { tid: ready.tid, cpus: ready.cpus },
      knobs: ready.knobs,
      verdictLatencyUs: summaryOf(LatencyHistogram.from(t.verdictLatency)),
      kernelLagUs: summaryOf(t.capture?.kernelLag !== undefined ? new LatencyHistogram(t.capture.kernelLag) : new LatencyHistogram()),
      signatureLagUs: summaryOf(LatencyHistogram.from(t.signatureLag)),
      verdictToLedUs: summaryOf(this.#verdictToLed),
      frames: t.frames,
      cpuNsPerFrame: t.frames > 0 ? Math.round((t.cpuUs * 1000) / t.frames) : null,
      evidenceDropped: t.lanes.evidenceDropped,
      heapUsedBytes: t.heapUsedBytes,
      gc: t.gc,
      restarts: t.restarts,
    };
  }

  #stalled(): boolean {
    return realtimeNs() - this.#lastFramesNs > CAPTURE_STALL_NS;
  }
}

export interface TickSinks {
  tracker: RealtimeTracker;
  store: EvidenceStore;
  device: Device;
  systemd: SystemdNotifier;
  /** The indicators' counts when ticks begin (restored from the store): samples count from there. */
  counts: Record<string, { count: number }>;
  onReport?: ((r: MonitorReport, nu: 0 | 1) => void) | undefined;
}

/** Once a second, when the real-time thread reports: counters, capture loss, estimates, live events. */
export function tickHandler(s: TickSinks): (r: TickReport) => void {
  const { tracker, store, device, systemd } = s;
  let lastDrops = 0;
  const lastCounts: Record<string, number> = {};
  for (const [k, v] of Object.entries(s.counts)) lastCounts[k] = v.count;
  return (r) => {
    tracker.update(r);
    const monitor = tracker.monitorOf(r);
    const c = r.monitor.capture;
    const drops = (c?.kernelDrops ?? 0) + (c?.ifDrops ?? 0) + (c?.queueDrops ?? 0);
    const dropsBefore = lastDrops;
    if (drops > lastDrops)
      store.event('capture-loss', `${drops - lastDrops} frames lost by the capture (not by the network)`, { total: drops });
    lastDrops = drops;
    for (const e of r.estimates) store.saveLocalEstimate(e);
    const status = device.status();
    // Counter samples hold what happened in the interval (the cumulative counters are in the status).
    const counts: Record<string, number> = {};
    for (const [k, v] of Object.entries(status.indicators)) {
      if (v.count > (lastCounts[k] ?? 0)) counts[k] = v.count - (lastCounts[k] ?? 0);
      lastCounts[k] = v.count;
    }
    store.counterSample({
      tsNs: realtimeNs().toString(),
      counts,
      frames: Math.round(r.monitor.framesPerS * r.monitor.intervalS),
      lost: drops - dropsBefore,
    });
    device.tick();
    s.onReport?.(monitor, status.nu);
    systemd.status(`νn=${status.nu}, ${r.monitor.framesPerS} frames/s from ${r.monitor.streams.length} streams, LED ${status.led}`);
  };
}
