// Network test bed: a veth pair with one end in the root namespace and the other in a network
// namespace created for the purpose. Used by live-capture tests, benchmarks and the embedded demo;
// needs root (CAP_NET_ADMIN). Names are unique per process and call, and cleanup() removes everything.
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';

export interface Testbed {
  /** Network namespace name (under /run/netns). */
  readonly ns: string;
  /** veth end in the root namespace (our namespace). */
  readonly hostIf: string;
  /** veth end inside `ns`. */
  readonly nsIf: string;
  /** IPv4 addresses of the two ends (/30), for non-SV test traffic. */
  readonly hostIp: string;
  readonly nsIp: string;
  /** Removes the namespace and the veth pair; safe to call twice. */
  cleanup(): void;
}

let counter = 0;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** True when this process may create namespaces and veth pairs (root, iproute2 present). */
export function canCreateTestbed(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('ip', ['-V'], { stdio: 'ignore' }).status === 0;
}

export function createTestbed(purpose = 'test'): Testbed {
  counter += 1;
  // Interface names are limited to 15 bytes: "sv" + pid base36 + counter + side.
  const tag = `${process.pid.toString(36)}${counter.toString(36)}`;
  const ns = `svde-${purpose}-${tag}`;
  const hostIf = `sv${tag}a`;
  const nsIf = `sv${tag}b`;
  const octet = (process.pid + counter) % 250;
  const hostIp = `10.231.${octet}.1`;
  const nsIp = `10.231.${octet}.2`;
  let done = false;
  const cleanup = (): void => {
    if (done) return;
    done = true;
    // Deleting the namespace destroys the veth end inside it, and with it the pair.
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' });
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    ip('-n', ns, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', ns, 'link', 'set', nsIf, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (err) {
    cleanup();
    throw new Error(`testbed: cannot create veth pair ${hostIf}/${nsIf} in namespace ${ns}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return { ns, hostIf, nsIf, hostIp, nsIp, cleanup };
}

/**
 * Real non-SV traffic through the kernel: `count` UDP datagrams from the root namespace to `to`
 * (discard port), which also makes the kernel resolve `to` with ARP.
 */
export async function udpNoise(to: string, count = 3): Promise<void> {
  const sock = dgram.createSocket('udp4');
  try {
    for (let k = 0; k < count; k++) {
      await new Promise<void>((resolve) => sock.send(Buffer.from(`svde-noise-${k}`), 9, to, () => resolve()));
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    sock.close();
  }
}

/** Whether an interface exists in the root namespace or in `ns`. */
export function linkExists(name: string, ns?: string): boolean {
  const args = ns === undefined ? ['link', 'show', name] : ['-n', ns, 'link', 'show', name];
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}

/** Whether a network namespace exists. */
export function netnsExists(ns: string): boolean {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return out.stdout.split('\n').some((l) => l.split(' ')[0] === ns);
}
