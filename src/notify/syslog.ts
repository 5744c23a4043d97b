// Alarms to a syslog collector / SIEM as RFC 5424 messages, over UDP (RFC 5426, one message per datagram)
// or TCP (RFC 6587 octet counting: "LEN SP MSG"). The notifier never throws into the caller and never
// blocks it: messages wait in a bounded queue (oldest dropped and counted when the collector is away), TCP
// reconnects with backoff, and every failure is counted and reported through onError.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { DeviceView, LiveEvent } from '../model/device.ts';
import type { Grade } from '../model/indicators.ts';
import type { AlarmRecord } from '../model/records.ts';

/** RFC 5424 §6.2.1 severities. */
export const SEVERITY = { emergency: 0, alert: 1, critical: 2, error: 3, warning: 4, notice: 5, informational: 6, debug: 7 } as const;

/**
 * Severity by grade: packet-level findings (forged signature, foreign MAC) are the most direct evidence of
 * an attack on the bus; specification and upstream findings are errors; history matches are warnings.
 */
export const DEFAULT_SEVERITY_BY_GRADE: Readonly<Record<Grade, number>> = Object.freeze({ 1: 2, 2: 3, 3: 4, 4: 3 });

export interface SyslogOptions {
  host: string;
  port: number;
  transport: 'udp' | 'tcp';
  /** RFC 5424 facility number 0–23; default 10 (security/authorization, "authpriv"). */
  facility?: number;
  severityByGrade?: Partial<Record<Grade, number>>;
  /** HOSTNAME field; default the system host name. */
  hostname?: string;
  appName?: string;
  procId?: string;
  /** Private enterprise number of the SD-ID `svde@<pen>`; default 32473 (RFC 5612, documentation use). */
  enterpriseId?: number;
  /** Messages held while the collector is unreachable; the oldest are dropped beyond this. Default 1000. */
  maxQueue?: number;
  /** Largest message; longer MSG parts are cut at a character boundary. Default 2048 (RFC 5426 §3.2). */
  maxMessageBytes?: number;
  reconnect?: { minMs: number; maxMs: number };
  onError?: (err: Error) => void;
  /** Clock for the TIMESTAMP field (tests). */
  now?: () => Date;
}

export interface SyslogStats {
  sent: number;
  dropped: number;
  queued: number;
  errors: number;
  connected: boolean;
  lastError: string | null;
}

/** RFC 5424 §6.3.3: inside PARAM-VALUE, '"', '\' and ']' are escaped with a backslash. */
export function escapeParamValue(v: string): string {
  return v.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** PRINTUSASCII (%d33-126) only, at most `max` characters, '-' when empty (the NILVALUE). */
function headerField(v: string | undefined, max: number): string {
  const s = (v ?? '').replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return s === '' ? '-' : s;
}

/** SD-NAME: PRINTUSASCII except '=', SP, ']', '"'; 1–32 characters. */
function sdName(v: string): string {
  const s = v.replace(/[^\x21-\x7e]|[= \]"]/g, '').slice(0, 32);
  return s === '' ? 'x' : s;
}

/** RFC 3339 with microseconds and Z, as RFC 5424 §6.2.3 allows (TIME-SECFRAC up to 6 digits). */
export function timestamp(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function nsToIso(ns: string): string {
  try {
    const n = BigInt(ns);
    const ms = Number(n / 1_000_000n);
    const frac = String(n % 1_000_000_000n).padStart(9, '0');
    return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
  } catch {
    return ns;
  }
}

/** Cuts a UTF-8 string to at most `max` bytes without splitting a character. */
function cutUtf8(s: string, max: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= max) return s;
  let end = Math.max(0, max);
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString('utf8');
}

const PARAM_MAX_BYTES = 200;

export interface Formatter {
  alarm(a: AlarmRecord): string;
  acknowledged(e: { alarmIds: number[]; indicators: string[]; by: string }): string;
}

export function formatter(o: Omit<SyslogOptions, 'host' | 'port' | 'transport'> = {}): Formatter {
  const facility = o.facility ?? 10;
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) throw new RangeError(`syslog facility must be 0–23, got ${facility}`);
  const sev = { ...DEFAULT_SEVERITY_BY_GRADE, ...o.severityByGrade };
  const host = headerField(o.hostname ?? osHostname(), 255);
  const app = headerField(o.appName ?? 'svde', 48);
  const proc = headerField(o.procId ?? String(process.pid), 128);
  const sdId = `${sdName('svde')}@${o.enterpriseId ?? 32473}`;
  const max = o.maxMessageBytes ?? 2048;
  const now = o.now ?? (() => new Date());

  const build = (severity: number, msgId: string, params: Array<[string, string | number | boolean]>, msg: string): string => {
    // Values are capped so the structured data always fits; the full text is still in MSG (room permitting).
    const sd = `[${sdId}${params.map(([k, v]) => ` ${sdName(k)}="${escapeParamValue(cutUtf8(String(v), PARAM_MAX_BYTES))}"`).join('')}]`;
    const head = `<${facility * 8 + severity}>1 ${timestamp(now())} ${host} ${app} ${proc} ${headerField(msgId, 32)} ${sd}`;
    // The MSG is what gives way when the message is too long; the header and structured data stay whole.
    const room = max - Buffer.byteLength(head, 'utf8') - 1;
    const body = cutUtf8(msg, room);
    return body === '' ? head : `${head} ${body}`;
  };

  return {
    alarm(a) {
      const params: Array<[string, string | number | boolean]> = [
        ['id', a.id],
        ['indicator', a.indicator],
        ['grade', a.grade],
        ['stream', a.stream],
        ['reason', a.reason],
        ['firstTs', nsToIso(a.firstTsNs)],
        ['firstFrame', a.firstFrame],
        ['frames', a.frames],
      ];
      const s = sev[a.grade] ?? 3;
      return build(s, 'ALARM', params, `alarm ${a.id}: ${a.indicator} (grade ${a.grade}) on stream ${a.stream}: ${a.reason}`);
    },
    acknowledged(e) {
      const params: Array<[string, string | number | boolean]> = [
        ['alarms', e.alarmIds.join(',')],
        ['indicators', e.indicators.join(',')],
        ['by', e.by],
      ];
      return build(
        SEVERITY.notice,
        'ACK',
        params,
        `acknowledged by ${e.by}: ${e.alarmIds.length} alarm(s)${e.indicators.length > 0 ? `, indicators ${e.indicators.join(', ')}` : ''}`,
      );
    },
  };
}

export class SyslogNotifier {
  readonly #o: SyslogOptions;
  readonly #fmt: Formatter;
  readonly #queue: Buffer[] = [];
  readonly #maxQueue: number;
  #udp: UdpSocket | null = null;
  #tcp: Socket | null = null;
  #connected = false;
  #connecting = false;
  #backoff: number;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #flushing = false;
  #closing: Promise<void> | null = null;
  #stats = { sent: 0, dropped: 0, errors: 0, lastError: null as string | null };

  constructor(o: SyslogOptions) {
    if (o.transport !== 'udp' && o.transport !== 'tcp')
      throw new RangeError(`syslog transport must be udp or tcp, got ${String(o.transport)}`);
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new RangeError(`syslog port must be 1–65535, got ${o.port}`);
    this.#o = o;
    this.#fmt = formatter(o);
    this.#maxQueue = Math.max(1, o.maxQueue ?? 1000);
    this.#backoff = o.reconnect?.minMs ?? 500;
    if (o.transport === 'udp') {
      this.#udp = createSocket(isIPv6(o.host) ? 'udp6' : 'udp4');
      this.#udp.on('error', (err) => this.#fail(err));
      this.#udp.unref();
      this.#connected = true;
    } else {
      this.#connect();
    }
  }

  /** Queues one alarm; returns at once and never throws. */
  alarm(a: AlarmRecord): void {
    this.#safe(() => this.#enqueue(this.#fmt.alarm(a)));
  }

  acknowledged(e: { alarmIds: number[]; indicators: string[]; by: string }): void {
    this.#safe(() => this.#enqueue(this.#fmt.acknowledged(e)));
  }

  /** Forwards the device's alarms and acknowledgements; returns the unsubscribe function. */
  attach(device: DeviceView): () => void {
    return device.subscribe((e: LiveEvent) => {
      if (e.type === 'alarm') this.alarm(e.data);
      else if (e.type === 'ack') this.acknowledged(e.data);
    });
  }

  stats(): SyslogStats {
    return { ...this.#stats, queued: this.#queue.length, connected: this.#connected };
  }

  /** Sends what is queued (waiting up to `graceMs` for a TCP collector), then closes. */
  close(graceMs = 1000): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.#queue.length > 0 && Date.now() < deadline && (this.#connected || this.#connecting)) {
      this.#flush();
      await new Promise((r) => setTimeout(r, 10));
    }
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const tcp = this.#tcp;
    if (tcp !== null) {
      if (this.#connected) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.max(0, deadline - Date.now()));
          tcp.end(() => {
            clearTimeout(t);
            r();
          });
        });
      }
      tcp.destroy();
    }
    const udp = this.#udp;
    if (udp !== null) await new Promise<void>((r) => udp.close(() => r()));
    this.#connected = false;
  }

  #safe(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #fail(err: Error): void {
    this.#stats.errors++;
    this.#stats.lastError = err.message;
    try {
      this.#o.onError?.(err);
    } catch {
      // A failing error callback must not break the notifier either.
    }
  }

  #enqueue(msg: string): void {
    if (this.#closed) return;
    const body = Buffer.from(msg, 'utf8');
    const frame = this.#o.transport === 'tcp' ? Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]) : body;
    if (this.#queue.length >= this.#maxQueue) {
      this.#queue.shift();
      this.#stats.dropped++;
    }
    this.#queue.push(frame);
    this.#flush();
  }

  #flush(): void {
    if (this.#flushing || !this.#connected || this.#closed) return;
    this.#flushing = true;
    try {
      if (this.#udp !== null) {
        const udp = this.#udp;
        while (this.#queue.length > 0) {
          const m = this.#queue.shift()!;
          udp.send(m, this.#o.port, this.#o.host, (err) => {
            if (err) this.#fail(err);
            else this.#stats.sent++;
          });
        }
      } else if (this.#tcp !== null) {
        const tcp = this.#tcp;
        while (this.#queue.length > 0 && this.#connected) {
          // Handed to the socket: syslog over TCP has no acknowledgement, so what the kernel had not sent when
          // a connection breaks is lost; what is still queued here waits for the reconnect.
          const m = this.#queue.shift()!;
          const ok = tcp.write(m, (err) => {
            if (err) this.#fail(err);
            else this.#stats.sent++;
          });
          if (!ok) {
            tcp.once('drain', () => this.#flush());
            break;
          }
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  #connect(): void {
    if (this.#closed || this.#connecting) return;
    this.#connecting = true;
    const sock = connect({ host: this.#o.host, port: this.#o.port });
    sock.setNoDelay(true);
    sock.setKeepAlive(true, 30_000);
    sock.unref();
    sock.on('connect', () => {
      this.#connecting = false;
      this.#connected = true;
      this.#backoff = this.#o.reconnect?.minMs ?? 500;
      this.#flush();
    });
    sock.on('data', () => undefined); // collectors do not answer; ignore anything they send
    sock.on('error', (err) => this.#fail(err));
    sock.on('close', () => {
      if (this.#tcp === sock) this.#tcp = null;
      this.#connected = false;
      this.#connecting = false;
      if (!this.#closed) this.#scheduleReconnect();
    });
    this.#tcp = sock;
  }

  #scheduleReconnect(): void {
    if (this.#timer !== null || this.#closed) return;
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#o.reconnect?.maxMs ?? 30_000);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connect();
    }, wait);
    this.#timer.unref();
  }
}

/** The name the composition root uses. */
export { SyslogNotifier as SyslogSender };
