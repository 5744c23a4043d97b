// The front-panel LEDs and the alarm relay over sysfs GPIO (onoff). The only module that touches GPIO.
// A board without the lines (or a machine without /sys/class/gpio) gives an 'absent' LED and the appliance
// runs on; a GPIO error marks the LED 'failed' (shown on the panel and the API) and never throws upward.
import { createRequire } from 'node:module';
import type { BinaryValue, Gpio as GpioLine } from 'onoff';
import type { DeviceView, HealthView, LedPattern, LiveEvent } from '../model/device.ts';
import type { BoardProfile, RelayMode } from '../config/board.ts';
import { framesOf, ledPatternOf, relayClosedOf, type LedFrame, type LedStatus } from './pattern.ts';

type GpioClass = typeof import('onoff').Gpio;

let gpioClass: GpioClass | Error | undefined;
/** onoff loaded on first use: its native epoll part failing to load must cost the LED, not the appliance. */
function loadGpio(): GpioClass | Error {
  if (gpioClass === undefined) {
    try {
      gpioClass = (createRequire(import.meta.url)('onoff') as typeof import('onoff')).Gpio;
    } catch (e) {
      gpioClass = e instanceof Error ? e : new Error(String(e));
    }
  }
  return gpioClass;
}

export interface LedOptions {
  /** Pattern period (default 1000 ms). */
  periodMs?: number;
  /** Overrides the board's relay mode. */
  relayCloses?: RelayMode;
  /** Waits before the second attempt to open a line whose sysfs files appear late (udev); default 100 ms. */
  retryMs?: number;
}

type Output = 'green' | 'red' | 'relay';

/** The GPIO lines of the LEDs and the relay (sysfs numbers; null: not fitted). */
export interface LedLines {
  green: number | null;
  red: number | null;
  relay: number | null;
  /** The LEDs light when driven low. */
  activeLow: boolean;
  /** The relay closes when driven low; default activeLow. */
  relayActiveLow?: boolean;
  relayCloses?: RelayMode;
  heartbeatDuringAlarm?: boolean;
}

/** The lines of a board profile. */
export function ledLinesOf(board: Pick<BoardProfile, 'gpio'>): LedLines {
  const g = board.gpio;
  return {
    green: g.ledGreen,
    red: g.ledRed,
    relay: g.alarmRelay,
    activeLow: g.activeLow,
    relayCloses: g.relayCloses,
    heartbeatDuringAlarm: g.heartbeatDuringAlarm,
    ...(g.relayActiveLow !== undefined ? { relayActiveLow: g.relayActiveLow } : {}),
  };
}

const isBoard = (x: LedLines | Pick<BoardProfile, 'gpio'>): x is Pick<BoardProfile, 'gpio'> => 'gpio' in x;

export class LedDriver {
  readonly #lines = new Map<Output, GpioLine>();
  readonly #values = new Map<Output, BinaryValue>();
  readonly #periodMs: number;
  readonly #relayMode: RelayMode;
  readonly #heartbeatDuringAlarm: boolean;
  #state: HealthView['led']['state'] = 'absent';
  #detail: string | null = null;
  #pattern: LedPattern = 'off';
  #frames: LedFrame[] = framesOf('off');
  #frame = 0;
  #timer: NodeJS.Timeout | undefined;
  #relayClosed = false;
  #closed = false;
  /** Settles when the lines are open (or given up on). */
  readonly ready: Promise<void>;

  /**
   * Opens the LED and relay lines. Never throws: without GPIO the driver is 'absent', with a GPIO error
   * 'failed' (health() says why); the pattern is tracked either way for the panel and the API. Sysfs files
   * that appear late after the export (udev) get one more try after `retryMs` (see `ready`).
   */
  constructor(lines: LedLines | Pick<BoardProfile, 'gpio'>, opts: LedOptions = {}) {
    const l = isBoard(lines) ? ledLinesOf(lines) : lines;
    this.#periodMs = opts.periodMs ?? 1000;
    this.#relayMode = opts.relayCloses ?? l.relayCloses ?? 'nu';
    this.#heartbeatDuringAlarm = l.heartbeatDuringAlarm ?? true;
    const wanted: Array<[Output, number, boolean]> = [];
    if (l.green !== null) wanted.push(['green', l.green, l.activeLow]);
    if (l.red !== null) wanted.push(['red', l.red, l.activeLow]);
    if (l.relay !== null) wanted.push(['relay', l.relay, l.relayActiveLow ?? l.activeLow]);
    if (wanted.length === 0) {
      this.#detail = 'the board profile names no LED or relay GPIO lines';
      this.ready = Promise.resolve();
      return;
    }
    const Gpio = loadGpio();
    if (Gpio instanceof Error) {
      this.#fail(`the GPIO library (onoff) cannot be loaded: ${Gpio.message}`);
      this.ready = Promise.resolve();
      return;
    }
    if (!Gpio.accessible) {
      this.#detail = 'no GPIO on this machine (/sys/class/gpio/export cannot be opened)';
      this.ready = Promise.resolve();
      return;
    }
    const first = this.#openAll(Gpio, wanted);
    if (first === null || !isLate(first)) {
      if (first !== null) this.#fail(`cannot open GPIO lines: ${first.message}`);
      this.ready = Promise.resolve();
      return;
    }
    this.#state = 'failed';
    this.#detail = `GPIO lines not ready yet (${first.message}); trying again`;
    this.ready = new Promise<void>((resolve) => {
      // Not unref'd: whoever awaits `ready` is owed an answer.
      setTimeout(() => {
        if (!this.#closed) {
          const again = this.#openAll(Gpio, wanted);
          if (again !== null) this.#fail(`cannot open GPIO lines: ${again.message}`);
        }
        resolve();
      }, opts.retryMs ?? 100);
    });
  }

  /** The constructor, waiting for the retry of lines whose sysfs files appear late. */
  static async open(lines: LedLines | Pick<BoardProfile, 'gpio'>, opts: LedOptions = {}): Promise<LedDriver> {
    const d = new LedDriver(lines, opts);
    await d.ready;
    return d;
  }

  /** Exports every line; on an error unexports those already open and returns the error. */
  #openAll(Gpio: GpioClass, wanted: Array<[Output, number, boolean]>): Error | null {
    try {
      for (const [out, pin, activeLow] of wanted) {
        // Logical 0 = off whatever the polarity: active_low is set before the direction (onoff's order).
        this.#lines.set(out, new Gpio(pin, 'out', 'none', { activeLow }));
      }
    } catch (e) {
      for (const line of this.#lines.values()) {
        try {
          line.unexport();
        } catch {
          // Already failing; the first error is the one reported.
        }
      }
      this.#lines.clear();
      return e as Error;
    }
    this.#state = 'ok';
    this.#detail = null;
    this.#values.clear();
    for (const out of this.#lines.keys()) this.#write(out, 0);
    // Show what was asked for while the lines were not ready.
    this.#write('relay', this.#relayClosed ? 1 : 0);
    if (this.#pattern !== 'off') {
      clearTimeout(this.#timer);
      this.#frame = 0;
      this.#play();
    }
    return null;
  }

  get pattern(): LedPattern {
    return this.#pattern;
  }

  health(): HealthView['led'] {
    return { state: this.#state, pattern: this.#pattern, detail: this.#detail };
  }

  /** Shows a status: the pattern from ledPatternOf and the relay from the relay mode. */
  update(s: LedStatus): void {
    if (this.#closed) return;
    this.#setRelay(relayClosedOf(s, this.#relayMode));
    this.setPattern(ledPatternOf(s));
  }

  /**
   * Plays a pattern from its first frame (a change shows at once); the same pattern again keeps its phase.
   * With `nu`, the relay follows too (its mode decided from νn and the pattern, which is exact: the pattern
   * is red-steady exactly when an alarm waits for acknowledgement, degraded when a fault shows).
   */
  setPattern(p: LedPattern, nu?: 0 | 1): void {
    if (this.#closed) return;
    if (nu !== undefined) {
      this.#setRelay(
        this.#relayMode === 'nu' ? nu === 1 : this.#relayMode === 'unacknowledged' ? p === 'red-steady' : nu === 1 || p === 'degraded',
      );
    }
    if (p === this.#pattern) return;
    this.#pattern = p;
    this.#frames = framesOf(p, { periodMs: this.#periodMs, heartbeatDuringAlarm: this.#heartbeatDuringAlarm });
    this.#frame = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#play();
  }

  /** Follows a device: its current status now, then every `status` live event. Returns the unsubscribe. */
  follow(device: Pick<DeviceView, 'status' | 'subscribe'>): () => void {
    this.update(device.status());
    return device.subscribe((e: LiveEvent) => {
      if (e.type === 'status') this.update(e.data);
    });
  }

  /** Outputs off, lines unexported, timers stopped. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pattern = 'off';
    for (const line of this.#lines.values()) {
      try {
        if (this.#state === 'ok') line.writeSync(0);
        line.unexport();
      } catch {
        // Closing is best effort: the process is ending and the kernel keeps the line's last value.
      }
    }
    this.#lines.clear();
    if (this.#state === 'ok') this.#state = 'absent';
    this.#detail = 'closed';
  }

  #play(): void {
    const f = this.#frames[this.#frame]!;
    this.#write('green', f.green ? 1 : 0);
    this.#write('red', f.red ? 1 : 0);
    if (this.#frames.length < 2 || this.#state !== 'ok') return;
    this.#timer = setTimeout(() => {
      this.#frame = (this.#frame + 1) % this.#frames.length;
      this.#play();
    }, f.ms);
    // The LED never keeps the process alive.
    this.#timer.unref();
  }

  #setRelay(closed: boolean): void {
    this.#relayClosed = closed;
    this.#write('relay', closed ? 1 : 0);
  }

  /** Writes only changes: sysfs writes are cheap but not free on a small ARM core. */
  #write(out: Output, v: BinaryValue): void {
    const line = this.#lines.get(out);
    if (line === undefined || this.#state !== 'ok' || this.#values.get(out) === v) return;
    try {
      line.writeSync(v);
      this.#values.set(out, v);
    } catch (e) {
      this.#fail(`writing the ${out} line failed: ${(e as Error).message}`);
    }
  }

  #fail(detail: string): void {
    this.#state = 'failed';
    this.#detail = detail;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

const isLate = (e: Error): boolean => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'EACCES';
};
