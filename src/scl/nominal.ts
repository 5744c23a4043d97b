// Nominal values an SCL file states, per IED: the voltage of the VoltageLevel whose LNodes name the IED
// (IEC 61850-6: <VoltageLevel><Voltage unit="V" multiplier="k">110</Voltage>, line-to-line RMS) and the
// rated primary current of its TCTRs (DOI ARtg, setMag.f or setMag.i, IEC 61850-7-4). Detection derives its
// default pickups from these, so a bay at 110 kV is judged at 110 kV. A file with a single VoltageLevel
// places every IED at it (said so in the source); an IED the file does not place among several levels, or
// places at two different voltages (a transformer's MU), gets none, with the reason.
import { kid, kids, type XmlElement } from './xml.ts';

export interface SclNominal {
  /** Phase-to-neutral nominal voltage, V RMS, or null. */
  voltageLN: number | null;
  /** Rated primary current, A RMS, or null. */
  currentA: number | null;
  /** Where each came from, or why it is missing (for `svde scl` and the analyze summary). */
  voltageFrom: string;
  currentFrom: string;
}

const MULTIPLIERS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, m: 1e-3 };

/** A <Voltage> element in volts, or the reason it cannot be read. */
export function voltageOf(el: XmlElement): number | string {
  const unit = el.attrs['unit'] ?? 'V';
  if (unit !== 'V') return `unit "${unit}" is not V`;
  const mult = MULTIPLIERS[el.attrs['multiplier'] ?? ''];
  if (mult === undefined) return `multiplier "${el.attrs['multiplier']}" is not one of k, M, m`;
  const text = el.text.trim();
  const v = Number(text);
  if (text === '' || !Number.isFinite(v) || v <= 0) return `value "${text}" is not a positive number`;
  return v * mult;
}

function walk(el: XmlElement, visit: (e: XmlElement) => void, depth = 0): void {
  if (depth > 64) return;
  visit(el);
  for (const c of el.children) walk(c, visit, depth + 1);
}

/** Rated current of a TCTR: DOI ARtg / SDI setMag / DAI f or i / Val. */
function ratedCurrentOf(ln: XmlElement): number | undefined {
  const doi = kids(ln, 'DOI').find((d) => d.attrs['name'] === 'ARtg');
  if (doi === undefined) return undefined;
  const setMag = kids(doi, 'SDI').find((s) => s.attrs['name'] === 'setMag');
  if (setMag === undefined) return undefined;
  for (const name of ['f', 'i']) {
    const dai = kids(setMag, 'DAI').find((d) => d.attrs['name'] === name);
    const val = dai !== undefined ? kid(dai, 'Val') : undefined;
    const v = val !== undefined ? Number(val.text.trim()) : NaN;
    if (Number.isFinite(v) && v > 0) return v;
  }
  return undefined;
}

export function nominalsByIed(root: XmlElement): Map<string, SclNominal> {
  const levels = new Map<string, Array<{ v: number | string; level: string }>>();
  const allLevels: Array<{ v: number | string; level: string }> = [];
  for (const sub of kids(root, 'Substation')) {
    for (const vl of kids(sub, 'VoltageLevel')) {
      const vEl = kid(vl, 'Voltage');
      const v: number | string = vEl !== undefined ? voltageOf(vEl) : 'its VoltageLevel states no Voltage';
      const level = `${sub.attrs['name'] ?? ''}/${vl.attrs['name'] ?? ''}`;
      allLevels.push({ v, level });
      walk(vl, (e) => {
        const ied = e.name === 'LNode' ? e.attrs['iedName'] : undefined;
        if (ied === undefined || ied === '' || ied === 'None') return;
        const list = levels.get(ied) ?? [];
        if (!list.some((x) => x.level === level)) list.push({ v, level });
        levels.set(ied, list);
      });
    }
  }
  const out = new Map<string, SclNominal>();
  for (const ied of kids(root, 'IED')) {
    const name = ied.attrs['name'];
    if (name === undefined) continue;
    let voltageLN: number | null = null;
    let voltageFrom: string;
    const placed = levels.get(name) ?? [];
    const known = placed.filter((x) => typeof x.v === 'number') as Array<{ v: number; level: string }>;
    const distinct = [...new Set(known.map((x) => x.v))];
    const only = allLevels.length === 1 ? allLevels[0]! : undefined;
    if (placed.length === 0 && only !== undefined && typeof only.v === 'number') {
      voltageLN = only.v / Math.sqrt(3);
      voltageFrom = `the file's only VoltageLevel ${only.level}: ${only.v / 1000} kV line-to-line (no LNode places the IED)`;
    } else if (placed.length === 0 && only !== undefined) voltageFrom = `the file's only VoltageLevel ${only.level}: ${String(only.v)}`;
    else if (placed.length === 0)
      voltageFrom =
        allLevels.length === 0 ? 'the file has no Substation VoltageLevel' : 'no VoltageLevel of the Substation names this IED in an LNode';
    else if (distinct.length === 1) {
      voltageLN = distinct[0]! / Math.sqrt(3);
      voltageFrom = `VoltageLevel ${known.map((x) => x.level).join(', ')}: ${distinct[0]! / 1000} kV line-to-line`;
    } else if (distinct.length > 1)
      voltageFrom = `the IED is in VoltageLevels of different voltages (${known.map((x) => `${x.level} ${x.v / 1000} kV`).join(', ')})`;
    else voltageFrom = `VoltageLevel ${placed[0]!.level}: ${String(placed[0]!.v)}`;
    const ratings = new Set<number>();
    walk(ied, (e) => {
      if ((e.name === 'LN' || e.name === 'LN0') && e.attrs['lnClass'] === 'TCTR') {
        const r = ratedCurrentOf(e);
        if (r !== undefined) ratings.add(r);
      }
    });
    const r = [...ratings];
    const currentA = r.length === 1 ? r[0]! : null;
    const currentFrom =
      r.length === 1
        ? `TCTR ARtg ${r[0]} A`
        : r.length > 1
          ? `TCTRs rated differently (${r.join(', ')} A)`
          : 'no TCTR of this IED states ARtg';
    out.set(name, { voltageLN, currentA, voltageFrom, currentFrom });
  }
  return out;
}
