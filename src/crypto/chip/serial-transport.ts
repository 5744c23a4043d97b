// The chip's serial link: the one place the appliance opens a serial port (`serialport`). It only moves bytes;
// framing, requests and recovery are the session's (session.ts), which sees this through ChipTransport.
import { SerialPort } from 'serialport';
import { wireSeconds } from './protocol.ts';
import type { ChipTransport } from './types.ts';

export interface SerialTransportOptions {
  /** A write that has not completed after this long means the far end is not reading (default 500 ms + wire time). */
  stallMs?: number;
  /** Bytes accepted while a write is stuck; beyond this new writes are dropped (default 16 KiB). */
  maxQueuedBytes?: number;
}

export interface SerialTransportStats {
  written: number;
  dropped: number;
  stalls: number;
  flushed: number;
  /** Bytes handed to the port that have not been written yet (bounded by maxQueuedBytes). */
  queued: number;
}

/**
 * The serial port as a ChipTransport. Writes go out one at a time through our own bounded queue with a
 * watchdog: when the far end stops reading (chip dead behind a live pty/USB bridge), the kernel buffer fills,
 * the bindings' write waits for "writable" forever and serialport's stream would queue every later write
 * without bound, then deliver stale requests when the chip comes back. Instead, a write stuck longer than
 * stallMs is reported (onStall), the port's unsent output is discarded (tcflush), and while it stays stuck
 * new writes are dropped (the driver's timeouts retry or fail those requests).
 */
export async function openSerialTransport(
  path: string,
  baudRate = 115200,
  opts: SerialTransportOptions = {},
): Promise<ChipTransport & { readonly stats: SerialTransportStats }> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  port.on('error', () => {
    /* surfaced as timeouts; the driver's health state reports it */
  });
  const maxQueued = opts.maxQueuedBytes ?? 16384;
  const stats: SerialTransportStats = { written: 0, dropped: 0, stalls: 0, flushed: 0, queued: 0 };
  const pending: Buffer[] = [];
  let writing: { bytes: number; since: number } | null = null;
  let stalled = false;
  let closed = false;
  const stallCbs: Array<(detail: string) => void> = [];
  const next = (): void => {
    if (writing !== null || pending.length === 0 || closed) return;
    const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending.length = 0;
    writing = { bytes: buf.length, since: performance.now() };
    port.write(buf, (err) => {
      const n = writing?.bytes ?? 0;
      writing = null;
      stats.queued -= n;
      if (err) stats.dropped += n;
      else {
        stats.written += n;
        stalled = false;
      }
      next();
    });
  };
  let lastTick = performance.now();
  const watchdog = setInterval(() => {
    const now = performance.now();
    const lag = now - lastTick - 50;
    lastTick = now;
    if (writing === null || closed) return;
    // Time our own event loop was blocked is not the peer's fault: the write's completion may be waiting behind it.
    if (lag > 50) writing.since += lag;
    const limit = opts.stallMs ?? 500 + wireSeconds(writing.bytes, baudRate) * 1000;
    if (now - writing.since < limit) return;
    if (!stalled) {
      stalled = true;
      stats.stalls++;
      const detail = `${writing.bytes} bytes not written after ${Math.round(performance.now() - writing.since)} ms: the far end is not reading`;
      for (const cb of stallCbs) cb(detail);
    }
    // Discard what the kernel still holds for the dead peer: stale requests must not reach a chip that comes back.
    writing.since = performance.now();
    port.flush(() => {
      stats.flushed++;
    });
  }, 50);
  watchdog.unref();
  return {
    baudRate,
    stats,
    write: (b) => {
      if (closed) return;
      if (stalled || stats.queued + b.length > maxQueued) {
        stats.dropped += b.length;
        return;
      }
      stats.queued += b.length;
      pending.push(Buffer.from(b));
      next();
    },
    onData: (cb) => {
      port.on('data', (d: Buffer) => cb(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    },
    onStall: (cb) => {
      stallCbs.push(cb);
    },
    close: () =>
      new Promise<void>((res) => {
        closed = true;
        clearInterval(watchdog);
        if (!port.isOpen) {
          res();
          return;
        }
        port.close(() => res());
      }),
  };
}
