// Runs in a private mount namespace (started by driver.test.ts through runInGpioNamespace): mounts the
// emulated sysfs GPIO tree, drives the LED driver through onoff, prints one JSON object with what happened.
import { startGpioSim, simNow } from '../helpers/gpio-sim.ts';
import { LedDriver } from '../../src/led/driver.ts';
import type { BoardProfile } from '../../src/config/board.ts';
import { ledStatus } from './status.ts';

const [scenario = 'patterns', activeLowArg = 'false'] = process.argv.slice(2);
const activeLow = activeLowArg === 'true';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function board(pins: Partial<BoardProfile['gpio']> = {}): Pick<BoardProfile, 'gpio'> {
  return { gpio: { ledGreen: 17, ledRed: 27, alarmRelay: 22, activeLow, relayCloses: 'nu', heartbeatDuringAlarm: false, ...pins } };
}

const marks: Array<{ name: string; t: number }> = [];
const mark = (name: string): void => {
  marks.push({ name, t: simNow() });
};
const PERIOD = 400;
const GREEN = 17;
const RED = 27;
const RELAY = 22;

async function main(): Promise<unknown> {
  switch (scenario) {
    case 'patterns': {
      const sim = await startGpioSim();
      const led = await LedDriver.open(board(), { periodMs: PERIOD });
      const health = [led.health()];
      const keepAlive = setInterval(() => {}, 1000);
      mark('heartbeat');
      led.update(ledStatus());
      await sleep(PERIOD * 3);
      mark('red-steady');
      led.update(ledStatus({ latched: ['mac'], active: ['mac'] }));
      await sleep(PERIOD * 2);
      mark('red-blink');
      led.update(ledStatus({ active: ['mac'] }));
      await sleep(PERIOD * 3);
      mark('degraded');
      led.update(ledStatus({ degraded: { chip: true } }));
      await sleep(PERIOD * 3);
      health.push(led.health());
      mark('close');
      led.close();
      health.push(led.health());
      await sleep(150);
      clearInterval(keepAlive);
      const changes = await sim.changes();
      await sim.close();
      return { marks, changes, health };
    }
    case 'absent': {
      // A machine without GPIO: no /sys/class/gpio at all.
      const sim = await startGpioSim({ gpio: false });
      const led = await LedDriver.open(board());
      led.update(ledStatus({ latched: ['rate'] }));
      const h = led.health();
      led.close();
      await sim.close();
      return { health: h };
    }
    case 'no-pins': {
      const sim = await startGpioSim();
      const led = await LedDriver.open(board({ ledGreen: null, ledRed: null, alarmRelay: null }));
      led.update(ledStatus());
      const h = led.health();
      led.close();
      const changes = await sim.changes();
      await sim.close();
      return { health: h, changes };
    }
    case 'unref': {
      // The driver is left running: its timers must not keep the process alive.
      const sim = await startGpioSim();
      const led = await LedDriver.open(board(), { periodMs: PERIOD });
      led.update(ledStatus({ degraded: { storage: true } }));
      await sim.close();
      setTimeout(() => {
        process.stderr.write('still running 5 s later: something keeps the event loop alive\n');
        process.exit(3);
      }, 5000).unref();
      return { health: led.health() };
    }
    case 'lines-api': {
      // The composition root's way: lines given directly, the pattern and νn pushed by hand.
      const sim = await startGpioSim();
      const led = new LedDriver({ green: GREEN, red: RED, relay: RELAY, activeLow });
      const health = [led.health()];
      mark('red-steady');
      led.setPattern('red-steady', 1);
      await sleep(300);
      mark('heartbeat');
      led.setPattern('heartbeat', 0);
      await sleep(300);
      mark('close');
      led.close();
      await sleep(100);
      const changes = await sim.changes();
      await sim.close();
      return { marks, changes, health };
    }
    case 'late-files': {
      // The red line's sysfs files appear late after its export: onoff gives up, the driver tries again.
      const sim = await startGpioSim({ lateFiles: [RED] });
      const led = new LedDriver(board(), { periodMs: PERIOD, retryMs: 200 });
      const health = [led.health()];
      led.update(ledStatus({ latched: ['mac'] }));
      await led.ready;
      health.push(led.health());
      mark('ready');
      await sleep(200);
      led.close();
      await sleep(100);
      const changes = await sim.changes();
      await sim.close();
      return { marks, changes, health };
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

main().then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
  },
  (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
