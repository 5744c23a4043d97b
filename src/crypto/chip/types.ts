// What the chip session and its callers share: the byte pipe it runs over, its errors, options and counters.
import { SvdeError } from '../../model/errors.ts';

/** A byte pipe to the chip (a serial port, or anything else that carries the protocol). */
export interface ChipTransport {
  write(bytes: Uint8Array): void;
  onData(cb: (chunk: Uint8Array) => void): void;
  close(): Promise<void>;
  /** Link speed, used to size timeouts; undefined = assume 115200. */
  readonly baudRate?: number;
  /** Called when written bytes stop leaving (the far end reads nothing): the link is dead, not slow. */
  onStall?(cb: (detail: string) => void): void;
}

export type Health = 'ok' | 'degraded' | 'failed';
export type ChipErrorCode = 'timeout' | 'status' | 'inconsistent' | 'failed' | 'closed' | 'protocol';

export class ChipError extends SvdeError {
  readonly code: ChipErrorCode;
  readonly status: number | undefined;
  constructor(code: ChipErrorCode, message: string, status?: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export interface DriverOptions {
  maxInFlight?: number; // requests on the wire at once (default 4)
  timeoutMs?: number; // base timeout per attempt; link and chip time are added (default 150)
  retries?: number; // further attempts of idempotent commands (default 3)
  failAfter?: number; // consecutive requests failing after all retries → failed (default 3)
  recoverAfter?: number; // consecutive clean answers degraded → ok (default 20)
  probeIntervalMs?: number; // INFO probe while failed (default 500)
  interByteMs?: number; // silence after which a partial frame is given up (default 20)
  quarantineMs?: number; // a timed-out seq is not reused for this long (default 2000)
  keepaliveMs?: number; // INFO when idle this long, to notice a silent chip reset early (default 0 = off)
}

export interface DriverStats {
  requests: number;
  attempts: number;
  retries: number;
  timeouts: number;
  stray: number;
  inconsistent: number;
  resets: number;
  stalls: number;
  verifiedValid: number;
  verifiedInvalid: number;
  unverified: number;
}
