// SCL dataset → channel set: value/quality pairs of TCTR/TVTR with the phase of each (Substation LNode,
// LN prefix, or the 9-2LE instance numbering).
import type { ChannelDescription, ChannelKind, ChannelPhase, ChannelSet } from '../model/channels.ts';
import { kids } from './xml.ts';
import type { XmlElement } from './xml.ts';
import type { DatasetLeaf, DatasetMember } from './model.ts';
import type { Warn } from './diagnostics.ts';

const KIND_OF_CLASS: Record<string, ChannelKind> = { TCTR: 'current', TVTR: 'voltage' };

/** Phase of an LN from the Substation section: LNode under a (Sub)Equipment with a phase. Key IED/LD/prefix+class+inst. */
export type PhaseHints = Map<string, ChannelPhase>;

export function substationPhases(root: XmlElement): PhaseHints {
  const m: PhaseHints = new Map();
  const walk = (el: XmlElement, phase: string | null, depth: number): void => {
    if (depth > 32) return;
    const ph = el.name === 'SubEquipment' ? (el.attrs['phase'] ?? phase) : phase;
    if (el.name === 'LNode' && ph !== null && ['A', 'B', 'C', 'N'].includes(ph)) {
      const a = el.attrs;
      m.set(
        `${a['iedName'] ?? 'None'}/${a['ldInst'] ?? ''}/${a['prefix'] ?? ''}${a['lnClass'] ?? ''}${a['lnInst'] ?? ''}`,
        ph as ChannelPhase,
      );
    }
    for (const c of el.children) walk(c, ph, depth + 1);
  };
  for (const s of kids(root, 'Substation')) walk(s, null, 0);
  return m;
}

const PREFIX_PHASE: Record<string, ChannelPhase> = {
  L1: 'A',
  L2: 'B',
  L3: 'C',
  A: 'A',
  B: 'B',
  C: 'C',
  PHA: 'A',
  PHB: 'B',
  PHC: 'C',
  N: 'N',
  RES: 'N',
  L0: 'N',
  NEUT: 'N',
};
// 9-2LE: TCTR1..4 / TVTR1..4 are phases A, B, C, N.
const INST_PHASE: Record<string, ChannelPhase> = { '1': 'A', '2': 'B', '3': 'C', '4': 'N' };

function phaseOf(iedName: string, m: DatasetMember, hints: PhaseHints): ChannelPhase | null {
  const ln = `${m.prefix}${m.lnClass}${m.lnInst}`;
  const h = hints.get(`${iedName}/${m.ldInst}/${ln}`) ?? hints.get(`None//${ln}`) ?? hints.get(`None/${m.ldInst}/${ln}`);
  if (h) return h;
  const p = PREFIX_PHASE[m.prefix.toUpperCase()];
  if (p) return p;
  return INST_PHASE[m.lnInst] ?? null;
}

/** Channels as value (INT32 instMag.i of TCTR/TVTR) + quality pairs; null (with a warning) for any other layout. */
export function toChannelSet(
  key: string,
  iedName: string,
  ds: DatasetMember[],
  hints: PhaseHints,
  svcb: XmlElement,
  warn: Warn,
): ChannelSet | null {
  const flat: { m: DatasetMember; leaf: DatasetLeaf }[] = [];
  for (const m of ds) {
    if (!m.resolved) return null; // fcda-unresolved already says why
    for (const leaf of m.leaves) flat.push({ m, leaf });
  }
  const channels: ChannelDescription[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const v = flat[i]!;
    const q = flat[i + 1];
    const kind = KIND_OF_CLASS[v.m.lnClass];
    const sameDo = q && q.leaf.ref.replace(/\.q$/, '') === v.leaf.ref.replace(/\.instMag\.i$/, '');
    if (v.leaf.bType !== 'INT32' || !kind || v.leaf.scale === undefined || !q || q.leaf.bType !== 'Quality' || !sameDo) {
      warn(
        'channels-unmapped',
        svcb,
        `dataset of ${key} is not a sequence of current/voltage instMag.i + q pairs (at ${v.leaf.ref}); no channel set`,
      );
      return null;
    }
    const phase = phaseOf(iedName, v.m, hints);
    if (phase === null) {
      warn(
        'channels-unmapped',
        svcb,
        `phase of ${v.leaf.ref} in ${key} is unknown (no Substation LNode phase, L1/L2/L3 prefix or 9-2LE instance 1..4); no channel set`,
      );
      return null;
    }
    channels.push({
      name: `${kind === 'current' ? 'I' : 'V'}${phase}`,
      kind,
      phase,
      scale: v.leaf.scale,
      ...(v.leaf.offset ? { offset: v.leaf.offset } : {}),
    });
  }
  if (channels.length === 0) return null;
  return { id: `scl:${key}`, description: `from SCL ${key}: ${channels.map((c) => c.name).join(' ')}`, channels };
}
