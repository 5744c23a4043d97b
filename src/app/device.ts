// The appliance's read model (DeviceView): what the API, the panel and the LED see. It owns no component;
// the composition root hands it read functions and the few commands (acknowledge, master estimates) are
// forwarded to their owners. A 1 s tick refreshes the cached views and pushes live events.
import { INDICATORS, GRADE, type Alarm, type IndicatorId } from '../model/indicators.ts';
import type { IndicatorBoard } from '../detect/indicators.ts';
import type { ExpectedStream } from '../model/streams.ts';
import type { MonitorReport } from '../capture/stream-monitor.ts';
import type { AlarmRecord, StoreReader } from '../model/records.ts';
import type {
  AckTarget,
  DeviceView,
  HealthView,
  IndicatorView,
  LedPattern,
  LiveEvent,
  RealtimeView,
  StatusView,
  StreamView,
  WaveformView,
} from '../model/device.ts';
import type { EstimateView, MasterEstimateInput, SignedEstimates, UpstreamResult } from '../model/estimates.ts';
import { assessRisk } from '../detect/risk.ts';
import { type AlarmTiming, type ApplianceObservation, type RiskReport, type StreamObservation } from '../model/risk.ts';

export interface DeviceStore extends StoreReader {
  /** Resolves once committed; the ids acknowledged. */
  acknowledge(target: { ids: number[] } | { indicator: IndicatorId } | { allOpen: true }, by: string, atNs: bigint): Promise<number[]>;
}

export interface DeviceDeps {
  mode: StatusView['mode'];
  version: string;
  store: DeviceStore;
  board: () => IndicatorBoard;
  /** Store id of the indicator's newest alarm (the board's ids are detection's own). */
  lastAlarmId: (indicator: IndicatorId) => number | null;
  configured: readonly ExpectedStream[];
  monitorReport: () => MonitorReport | undefined;
  scenario: () => string | null;
  /** The last cycles of each stream (the real-time thread's tap, as of its last report). */
  waveforms: { view(stream: string): WaveformView | undefined };
  /** The real-time thread's own figures (null before its first report). */
  realtime?: () => RealtimeView | null;
  health: {
    capture: () => HealthView['capture'];
    chip: () => HealthView['chip'];
    storage: () => HealthView['storage'];
    led: () => HealthView['led'];
  };
  ledPattern: (s: Pick<StatusView, 'nu' | 'indicators' | 'degraded'>) => LedPattern;
  /** Share of the last second's frames verified good, per signed stream name. */
  signatureCoverage: (stream: string) => number | null;
  estimates: {
    list: (sinceNs?: bigint) => EstimateView[];
    check: (input: MasterEstimateInput) => UpstreamResult | Promise<UpstreamResult>;
    sign: (message: Uint8Array) => Promise<NonNullable<SignedEstimates['signature']>>;
  };
  nowNs: () => bigint;
  /** Facts of the appliance's own posture for the risk assessment. */
  posture?: { apiTls: boolean; mutualTls: boolean; tokensConfigured: () => boolean; raisedNs: (alarmId: number) => bigint | undefined };
}

const HOUR_NS = 3_600_000_000_000n;
const STATUS_TTL_NS = 100_000_000n;
const CONFIG_REASONS = new Set([
  'confrev-mismatch',
  'svid-mismatch',
  'datset-mismatch',
  'noasdu-mismatch',
  'config-mismatch',
  'appid-mismatch',
]);

export class Device implements DeviceView {
  readonly store: StoreReader;
  readonly #d: DeviceDeps;
  readonly #startedNs: bigint;
  #statusCache: { atNs: bigint; view: StatusView } | undefined;
  readonly #listeners = new Map<(e: LiveEvent) => void, { waveformStream: string | undefined }>();

  constructor(deps: DeviceDeps) {
    this.#d = deps;
    this.store = deps.store;
    this.#startedNs = deps.nowNs();
  }

  /**
   * The status, recomputed at most every 100 ms or when an alarm or acknowledgement changed it: fifty
   * pollers must not each recompute health and the indicator table.
   */
  status(): StatusView {
    const now = this.#d.nowNs();
    if (this.#statusCache !== undefined && now - this.#statusCache.atNs < STATUS_TTL_NS) return this.#statusCache.view;
    const view = this.#computeStatus();
    this.#statusCache = { atNs: now, view };
    return view;
  }

  #computeStatus(): StatusView {
    const board = this.#d.board().snapshot();
    const indicators = {} as Record<IndicatorId, IndicatorView>;
    for (const id of INDICATORS) {
      const s = board[id];
      indicators[id] = { id, grade: GRADE[id], active: s.active, latched: s.latched, count: s.count, lastAlarmId: this.#d.lastAlarmId(id) };
    }
    const h = this.health();
    const degraded = {
      capture: h.capture.state === 'degraded' || h.capture.state === 'failed',
      chip: h.chip.state === 'degraded' || h.chip.state === 'failed',
      storage: h.storage.state === 'degraded' || h.storage.state === 'failed',
      led: h.led.state === 'failed',
    };
    const nu = this.#d.board().nu;
    return {
      nu,
      led: this.#d.ledPattern({ nu, indicators, degraded }),
      indicators,
      degraded,
      mode: this.#d.mode,
      scenario: this.#d.scenario(),
      startedNs: this.#startedNs.toString(),
      nowNs: this.#d.nowNs().toString(),
      version: this.#d.version,
      ...(this.#d.realtime !== undefined ? { realtime: this.#d.realtime() } : {}),
    };
  }

  streams(): StreamView[] {
    const report = this.#d.monitorReport();
    const observed = report?.streams ?? [];
    const seen = new Set<number>();
    const out: StreamView[] = this.#d.configured.map((s) => {
      const obs = observed.filter((o) => o.appId === s.appId && o.svId === s.svID);
      obs.forEach((o) => seen.add(observed.indexOf(o)));
      const last = obs[0];
      return {
        name: s.name,
        appId: s.appId,
        svId: s.svID,
        configured: true,
        observed: obs.length > 0,
        srcMacs: obs.map((o) => o.src),
        framesPerSecond: obs.reduce((a, o) => a + o.framesPerS, 0),
        expectedFramesPerSecond: s.framesPerSecond,
        lastSmpCnt: last?.lastSmpCnt ?? null,
        confRev: last?.confRev ?? s.confRev ?? null,
        signed: false,
        signatureCoverage: this.#d.signatureCoverage(s.name),
        bay: s.bay ?? null,
        bus: s.bus ?? s.bay ?? null,
      };
    });
    observed.forEach((o, i) => {
      if (seen.has(i)) return;
      out.push({
        name: `${o.appId.toString(16).padStart(4, '0')}/${o.svId}`,
        appId: o.appId,
        svId: o.svId,
        configured: false,
        observed: true,
        srcMacs: [o.src],
        framesPerSecond: o.framesPerS,
        expectedFramesPerSecond: null,
        lastSmpCnt: o.lastSmpCnt,
        confRev: o.confRev,
        signed: false,
        signatureCoverage: null,
        bay: null,
        bus: null,
      });
    });
    for (const v of out) v.signed = v.signatureCoverage !== null;
    return out;
  }

  health(): HealthView {
    const h = this.#d.health;
    return { capture: h.capture(), chip: h.chip(), storage: h.storage(), led: h.led() };
  }

  waveform(stream: string): WaveformView | undefined {
    return this.#d.waveforms.view(stream);
  }

  async acknowledge(target: AckTarget, by: string): Promise<{ alarmIds: number[]; indicators: IndicatorId[] }> {
    const board = this.#d.board();
    const now = this.#d.nowNs();
    // The store commits asynchronously: a latch raised meanwhile is not dropped with this acknowledgement.
    const mark = board.mark();
    let alarmIds: number[];
    let indicators: IndicatorId[];
    if ('alarmId' in target) {
      const a = this.store.getAlarm(target.alarmId);
      if (a === undefined) return { alarmIds: [], indicators: [] };
      alarmIds = await this.#d.store.acknowledge({ ids: [target.alarmId] }, by, now);
      indicators = [];
      // The indicator's latch drops once none of its alarms waits for an acknowledgement.
      if (a.indicator !== 'trip' && this.store.listAlarms({ indicator: a.indicator, acknowledged: false, limit: 1 }).total === 0) {
        board.acknowledge(a.indicator, mark);
        indicators.push(a.indicator);
      }
    } else if ('indicator' in target) {
      alarmIds = await this.#d.store.acknowledge({ indicator: target.indicator }, by, now);
      board.acknowledge(target.indicator, mark);
      indicators = [target.indicator];
    } else {
      alarmIds = await this.#d.store.acknowledge({ allOpen: true }, by, now);
      indicators = board.acknowledge(undefined, mark);
    }
    this.#statusCache = undefined;
    if (alarmIds.length > 0 || indicators.length > 0) {
      this.emit({ type: 'ack', data: { alarmIds, indicators, by } });
      this.emit({ type: 'status', data: this.status() });
    }
    return { alarmIds, indicators };
  }

  /**
   * Risk of every stream and of the appliance over the last hour (src/detect/risk.ts decides; this gathers the
   * facts: signing and its failures, VLAN priority seen, accept list, configuration drift, simulate bit, alarms).
   */
  risk(): RiskReport {
    const now = this.#d.nowNs();
    const since = now - HOUR_NS;
    const recent = this.store.listAlarms({ sinceNs: since, limit: 500 }).items;
    const views = this.streams();
    const byName = new Map(views.map((v) => [v.name, v]));
    const report = this.#d.monitorReport();
    const observations: StreamObservation[] = this.#d.configured.map((s) => {
      const v = byName.get(s.name);
      const mine = recent.filter((a) => a.stream === s.name && a.indicator !== 'trip');
      const obs = report?.streams.find((o) => o.appId === s.appId && o.svId === s.svID);
      const frames = obs?.framesPerS ?? 0;
      const coverage = v?.signatureCoverage ?? null;
      return {
        asset: s.name,
        role: s.role ?? 'protection',
        observed: v?.observed ?? false,
        signed: coverage !== null,
        signatureFailures: coverage === null ? 0 : Math.round(frames * (1 - coverage)),
        frames,
        vlanPriority: obs?.vlanPriority ?? null,
        acceptListed: s.acceptedSourceMacs.length > 0,
        configDrift: mine.some((a) => CONFIG_REASONS.has(a.reason)),
        simulateSeen: (obs?.simulated ?? 0) > 0 || mine.some((a) => a.reason === 'simulate-bit' || a.reason === 'simulated'),
        alarms: mine.length,
      };
    });
    const h = this.health();
    const p = this.#d.posture;
    const appliance: ApplianceObservation = {
      asset: 'svde',
      apiTls: p?.apiTls ?? false,
      mutualTls: p?.mutualTls ?? false,
      tokensConfigured: p?.tokensConfigured() ?? false,
      chip: h.chip.state,
      storage: h.storage.state,
      capture: h.capture.state,
    };
    const timings: AlarmTiming[] = [];
    for (const a of recent) {
      const raised = p?.raisedNs(a.id);
      if (raised === undefined) continue;
      timings.push({
        firstTsNs: BigInt(a.firstTsNs),
        raisedNs: raised,
        acknowledgedNs: a.acknowledged === null ? null : BigInt(a.acknowledged.atNs),
      });
    }
    return assessRisk(observations, appliance, timings);
  }

  async localEstimates(sinceNs?: bigint): Promise<SignedEstimates> {
    const estimates = this.#d.estimates.list(sinceNs);
    if (estimates.length === 0) return { estimates, signature: null };
    const signature = await this.#d.estimates.sign(new TextEncoder().encode(JSON.stringify(estimates)));
    return { estimates, signature };
  }

  submitMasterEstimate(input: MasterEstimateInput): UpstreamResult | Promise<UpstreamResult> {
    return this.#d.estimates.check(input);
  }

  subscribe(listener: (e: LiveEvent) => void, opts?: { waveformStream?: string }): () => void {
    this.#listeners.set(listener, { waveformStream: opts?.waveformStream });
    return () => this.#listeners.delete(listener);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  emit(e: LiveEvent): void {
    if (e.type === 'alarm' || e.type === 'alarm-update' || e.type === 'ack') this.#statusCache = undefined;
    for (const [l, o] of this.#listeners) {
      if (e.type === 'waveform' && e.data.stream !== o.waveformStream) continue;
      try {
        l(e);
      } catch {
        // A broken subscriber (closed connection) must not stop the others; the API removes it on close.
      }
    }
  }

  /** Once a second: status, streams and the chosen waveforms to the live subscribers. */
  tick(): void {
    this.#statusCache = undefined;
    if (this.#listeners.size === 0) return;
    this.emit({ type: 'status', data: this.status() });
    this.emit({ type: 'streams', data: this.streams() });
    const wanted = new Set<string>();
    for (const o of this.#listeners.values()) if (o.waveformStream !== undefined) wanted.add(o.waveformStream);
    for (const name of wanted) {
      const w = this.waveform(name);
      if (w !== undefined) this.emit({ type: 'waveform', data: w });
    }
  }
}

/** The store's view of an alarm the detection has just raised (before the store has committed it). */
export function alarmRecordOf(storeId: number, a: Alarm, ended: boolean): AlarmRecord {
  return {
    id: storeId,
    indicator: a.indicator,
    grade: a.grade,
    stream: a.stream,
    reason: a.reason,
    firstFrame: a.firstFrame,
    lastFrame: a.lastFrame,
    frames: a.frames,
    firstTsNs: a.firstTsNs.toString(),
    lastTsNs: a.lastTsNs.toString(),
    ended,
    acknowledged: null,
    detail: a.detail === undefined ? null : { ...a.detail },
    evidence: null,
    exported: false,
  };
}
