// AC network measurement model for Gauss–Newton WLS (the reference cases C and D of state-estimation.md):
// buses with a slack (angle 0), series branches r + jx (no shunt charging), measurements of bus voltage
// magnitude, bus active/reactive injection and branch active/reactive flow at the "from" end. Per unit.
// State x = [θ of every non-slack bus …, V of every bus …].
import type { NonlinearModel } from './wls.ts';

export interface AcBranch {
  from: number;
  to: number;
  r: number;
  x: number;
}
export type AcMeasurement = { kind: 'v'; bus: number } | { kind: 'p' | 'q'; bus: number } | { kind: 'pf' | 'qf'; branch: number };

export class AcNetworkModel implements NonlinearModel {
  readonly m: number;
  readonly n: number;
  readonly nb: number;
  readonly slack: number;
  readonly branches: readonly AcBranch[];
  readonly meas: readonly AcMeasurement[];
  readonly G: Float64Array;
  readonly B: Float64Array;
  readonly #g: Float64Array;
  readonly #b: Float64Array;
  /** Column of θ_bus in x, −1 for the slack. */
  readonly #thCol: Int32Array;
  readonly #th: Float64Array;
  readonly #v: Float64Array;

  constructor(nb: number, slack: number, branches: readonly AcBranch[], meas: readonly AcMeasurement[]) {
    this.nb = nb;
    this.slack = slack;
    this.branches = branches;
    this.meas = meas;
    this.m = meas.length;
    this.n = 2 * nb - 1;
    this.G = new Float64Array(nb * nb);
    this.B = new Float64Array(nb * nb);
    this.#g = new Float64Array(branches.length);
    this.#b = new Float64Array(branches.length);
    branches.forEach((br, k) => {
      const d = br.r * br.r + br.x * br.x;
      const g = br.r / d;
      const b = -br.x / d;
      this.#g[k] = g;
      this.#b[k] = b;
      const { from: i, to: j } = br;
      const add = (M: Float64Array, r: number, c: number, v: number) => {
        M[r * nb + c] = M[r * nb + c]! + v;
      };
      add(this.G, i, i, g);
      add(this.G, j, j, g);
      add(this.G, i, j, -g);
      add(this.G, j, i, -g);
      add(this.B, i, i, b);
      add(this.B, j, j, b);
      add(this.B, i, j, -b);
      add(this.B, j, i, -b);
    });
    this.#thCol = new Int32Array(nb);
    let c = 0;
    for (let i = 0; i < nb; i++) this.#thCol[i] = i === slack ? -1 : c++;
    this.#th = new Float64Array(nb);
    this.#v = new Float64Array(nb);
  }

  /** Column of V_bus in x. */
  vCol(bus: number): number {
    return this.nb - 1 + bus;
  }
  thCol(bus: number): number {
    return this.#thCol[bus]!;
  }

  /** Bus angles (rad) and magnitudes from x. */
  unpack(x: Float64Array, th = this.#th, v = this.#v): void {
    for (let i = 0; i < this.nb; i++) {
      const c = this.#thCol[i]!;
      th[i] = c < 0 ? 0 : x[c]!;
      v[i] = x[this.vCol(i)]!;
    }
  }

  initial(x: Float64Array): void {
    x.fill(0);
    for (let i = 0; i < this.nb; i++) x[this.vCol(i)] = 1;
  }

  #injection(i: number, q: boolean): number {
    const { nb, G, B } = this;
    const th = this.#th;
    const v = this.#v;
    let s = 0;
    for (let j = 0; j < nb; j++) {
      const t = th[i]! - th[j]!;
      const g = G[i * nb + j]!;
      const b = B[i * nb + j]!;
      s += v[j]! * (q ? g * Math.sin(t) - b * Math.cos(t) : g * Math.cos(t) + b * Math.sin(t));
    }
    return v[i]! * s;
  }

  h(x: Float64Array, out: Float64Array): void {
    this.unpack(x);
    const th = this.#th;
    const v = this.#v;
    this.meas.forEach((ms, k) => {
      switch (ms.kind) {
        case 'v':
          out[k] = v[ms.bus]!;
          break;
        case 'p':
          out[k] = this.#injection(ms.bus, false);
          break;
        case 'q':
          out[k] = this.#injection(ms.bus, true);
          break;
        case 'pf':
        case 'qf': {
          const br = this.branches[ms.branch]!;
          const g = this.#g[ms.branch]!;
          const b = this.#b[ms.branch]!;
          const vi = v[br.from]!;
          const vj = v[br.to]!;
          const t = th[br.from]! - th[br.to]!;
          out[k] =
            ms.kind === 'pf'
              ? vi * vi * g - vi * vj * (g * Math.cos(t) + b * Math.sin(t))
              : -vi * vi * b - vi * vj * (g * Math.sin(t) - b * Math.cos(t));
        }
      }
    });
  }

  jacobian(x: Float64Array, H: Float64Array): void {
    this.unpack(x);
    const { nb, n, G, B } = this;
    const th = this.#th;
    const v = this.#v;
    H.fill(0);
    const set = (row: number, col: number, val: number) => {
      if (col >= 0) H[row * n + col] = H[row * n + col]! + val;
    };
    this.meas.forEach((ms, k) => {
      switch (ms.kind) {
        case 'v':
          set(k, this.vCol(ms.bus), 1);
          break;
        case 'p':
        case 'q': {
          const i = ms.bus;
          const P = this.#injection(i, false);
          const Q = this.#injection(i, true);
          const gii = G[i * nb + i]!;
          const bii = B[i * nb + i]!;
          const vi = v[i]!;
          if (ms.kind === 'p') {
            set(k, this.thCol(i), -Q - bii * vi * vi);
            set(k, this.vCol(i), P / vi + gii * vi);
          } else {
            set(k, this.thCol(i), P - gii * vi * vi);
            set(k, this.vCol(i), Q / vi - bii * vi);
          }
          for (let j = 0; j < nb; j++) {
            if (j === i) continue;
            const g = G[i * nb + j]!;
            const b = B[i * nb + j]!;
            if (g === 0 && b === 0) continue;
            const t = th[i]! - th[j]!;
            const c = Math.cos(t);
            const s = Math.sin(t);
            if (ms.kind === 'p') {
              set(k, this.thCol(j), vi * v[j]! * (g * s - b * c));
              set(k, this.vCol(j), vi * (g * c + b * s));
            } else {
              set(k, this.thCol(j), -vi * v[j]! * (g * c + b * s));
              set(k, this.vCol(j), vi * (g * s - b * c));
            }
          }
          break;
        }
        case 'pf':
        case 'qf': {
          const br = this.branches[ms.branch]!;
          const g = this.#g[ms.branch]!;
          const b = this.#b[ms.branch]!;
          const i = br.from;
          const j = br.to;
          const vi = v[i]!;
          const vj = v[j]!;
          const t = th[i]! - th[j]!;
          const c = Math.cos(t);
          const s = Math.sin(t);
          if (ms.kind === 'pf') {
            const dth = vi * vj * (g * s - b * c);
            set(k, this.thCol(i), dth);
            set(k, this.thCol(j), -dth);
            set(k, this.vCol(i), 2 * vi * g - vj * (g * c + b * s));
            set(k, this.vCol(j), -vi * (g * c + b * s));
          } else {
            const dth = -vi * vj * (g * c + b * s);
            set(k, this.thCol(i), dth);
            set(k, this.thCol(j), -dth);
            set(k, this.vCol(i), -2 * vi * b - vj * (g * s - b * c));
            set(k, this.vCol(j), -vi * (g * s - b * c));
          }
        }
      }
    });
  }
}
