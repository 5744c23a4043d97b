// systemd integration (Type=notify, WatchdogSec=): READY=1 once capture and the API are up, STATUS= lines
// an operator sees in `systemctl status`, and watchdog pings that stop when the appliance is no longer
// healthy, so systemd restarts a process whose event loop or capture thread hangs.
import process from 'node:process';
import { sdNotify } from '../native/index.ts';

export class SystemdNotifier {
  readonly #socket: string | undefined;
  readonly #watchdogMs: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastError = '';

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#socket = env['NOTIFY_SOCKET'] !== undefined && env['NOTIFY_SOCKET'] !== '' ? env['NOTIFY_SOCKET'] : undefined;
    const usec = Number(env['WATCHDOG_USEC']);
    // WATCHDOG_PID names the process the watchdog is meant for; a child that inherited the variable stays silent.
    const pidOk = env['WATCHDOG_PID'] === undefined || Number(env['WATCHDOG_PID']) === process.pid;
    this.#watchdogMs = Number.isFinite(usec) && usec > 0 && pidOk ? usec / 1000 : undefined;
  }

  /** Running under systemd with a notify socket. */
  get enabled(): boolean {
    return this.#socket !== undefined;
  }

  get watchdogMs(): number | undefined {
    return this.#watchdogMs;
  }

  /** The last send error ('' when none): a broken notify socket must not stop the appliance. */
  get lastError(): string {
    return this.#lastError;
  }

  #send(state: string): void {
    if (this.#socket === undefined) return;
    this.#lastError = sdNotify(this.#socket, state);
  }

  ready(status: string): void {
    this.#send(`READY=1\nSTATUS=${status.replace(/\n/g, ' ')}\nMAINPID=${process.pid}`);
  }

  status(status: string): void {
    this.#send(`STATUS=${status.replace(/\n/g, ' ')}`);
  }

  stopping(): void {
    this.stopWatchdog();
    this.#send('STOPPING=1');
  }

  /** Pings at half the watchdog interval while `healthy()` says so; a missed ping makes systemd restart us. */
  startWatchdog(healthy: () => boolean): void {
    if (this.#socket === undefined || this.#watchdogMs === undefined) return;
    this.#timer = setInterval(
      () => {
        if (healthy()) this.#send('WATCHDOG=1');
      },
      Math.max(50, this.#watchdogMs / 2),
    );
    this.#timer.unref();
  }

  stopWatchdog(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
