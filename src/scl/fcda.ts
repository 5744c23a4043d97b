// SCL DataTypeTemplates and FCDA resolution: a dataset member → its leaves in seqData order (reference,
// fc, bType) and, for current/voltage instMag.i, the scaling.
import { kid, kids } from './xml.ts';
import type { XmlElement } from './xml.ts';
import type { DatasetLeaf, DatasetMember } from './model.ts';
import { IMPORT_LIMITS } from './diagnostics.ts';
import type { Warn } from './diagnostics.ts';

// Scaling by the UCA 9-2LE convention when the SCL gives no sVC: 1 mA and 10 mV per LSB.
const LE_SCALE: Record<string, number> = { TCTR: 0.001, TVTR: 0.01 };

interface TypeChild {
  name: string;
  bType: string;
  type: string | null;
  fc: string | null;
  vals: string[];
  kind: 'DO' | 'SDO' | 'DA' | 'BDA';
}

export class Templates {
  readonly lnTypes = new Map<string, XmlElement>();
  readonly doTypes = new Map<string, XmlElement>();
  readonly daTypes = new Map<string, XmlElement>();
  constructor(dtt: XmlElement | undefined) {
    for (const t of dtt?.children ?? []) {
      const id = t.attrs['id'];
      if (id === undefined) continue;
      if (t.name === 'LNodeType') this.lnTypes.set(id, t);
      else if (t.name === 'DOType') this.doTypes.set(id, t);
      else if (t.name === 'DAType') this.daTypes.set(id, t);
    }
  }
  private static cache = new WeakMap<XmlElement, { list: TypeChild[]; byName: Map<string, TypeChild>; daByFc: Map<string, TypeChild[]> }>();
  private static entry(t: XmlElement): { list: TypeChild[]; byName: Map<string, TypeChild>; daByFc: Map<string, TypeChild[]> } {
    let e = Templates.cache.get(t);
    if (!e) {
      const list = t.children
        .filter((c) => ['DO', 'SDO', 'DA', 'BDA'].includes(c.name))
        .map((c) => ({
          name: c.attrs['name'] ?? '',
          bType: c.attrs['bType'] ?? '',
          type: c.attrs['type'] ?? null,
          fc: c.attrs['fc'] ?? null,
          vals: kids(c, 'Val').map((v) => v.text.trim()),
          kind: c.name as TypeChild['kind'],
        }));
      const byName = new Map<string, TypeChild>();
      const daByFc = new Map<string, TypeChild[]>();
      for (const c of list) {
        if (!byName.has(c.name)) byName.set(c.name, c);
        if (c.kind === 'DA' && c.fc !== null) {
          const l = daByFc.get(c.fc);
          if (l) l.push(c);
          else daByFc.set(c.fc, [c]);
        }
      }
      Templates.cache.set(t, (e = { list, byName, daByFc }));
    }
    return e;
  }
  static children(t: XmlElement): TypeChild[] {
    return Templates.entry(t).list;
  }
  static child(t: XmlElement, name: string): TypeChild | undefined {
    return Templates.entry(t).byName.get(name);
  }
  /** The DAs of a DOType with functional constraint fc, in order. */
  static dasWithFc(t: XmlElement, fc: string): TypeChild[] {
    return Templates.entry(t).daByFc.get(fc) ?? [];
  }
}

function lnLabel(prefix: string, lnClass: string, lnInst: string): string {
  return `${prefix}${lnClass}${lnInst}`;
}

// Lookups by name are indexed once per parent so that no step is quadratic in the file's size.
const indexCache = new WeakMap<XmlElement, Map<string, Map<string, XmlElement>>>();

/** Children named `name`, by attribute `attr` (first one wins). */
export function childIndex(el: XmlElement, name: string, attr: string): Map<string, XmlElement> {
  let perEl = indexCache.get(el);
  if (!perEl) indexCache.set(el, (perEl = new Map()));
  const k = `${name}@${attr}`;
  let m = perEl.get(k);
  if (!m) {
    m = new Map();
    for (const c of el.children) {
      if (c.name !== name) continue;
      const v = c.attrs[attr];
      if (v !== undefined && !m.has(v)) m.set(v, c);
    }
    perEl.set(k, m);
  }
  return m;
}

const lnCache = new WeakMap<XmlElement, Map<string, XmlElement>>();

/** An IED's logical nodes by "ldInst|prefix|lnClass|inst" (LN0 as "ldInst|LLN0"). */
function lnIndex(ied: XmlElement): Map<string, XmlElement> {
  let m = lnCache.get(ied);
  if (m) return m;
  m = new Map();
  for (const ap of kids(ied, 'AccessPoint')) {
    const server = kid(ap, 'Server');
    if (!server) continue;
    for (const ld of kids(server, 'LDevice')) {
      const inst = ld.attrs['inst'] ?? '';
      for (const ln of ld.children) {
        const key =
          ln.name === 'LN0'
            ? `${inst}|LLN0`
            : ln.name === 'LN'
              ? `${inst}|${ln.attrs['prefix'] ?? ''}|${ln.attrs['lnClass'] ?? ''}|${ln.attrs['inst'] ?? ''}`
              : null;
        if (key !== null && !m.has(key)) m.set(key, ln);
      }
    }
  }
  lnCache.set(ied, m);
  return m;
}

function findLn(ied: XmlElement, ldInst: string, prefix: string, lnClass: string, lnInst: string): { ln: XmlElement } | null {
  const ln = lnIndex(ied).get(lnClass === 'LLN0' ? `${ldInst}|LLN0` : `${ldInst}|${prefix}|${lnClass}|${lnInst}`);
  return ln ? { ln } : null;
}

/** Instance values (DOI/SDI/DAI Val) along a path of names under an LN, e.g. ["AmpSv","sVC","scaleFactor"]. */
function instanceVal(ln: XmlElement, names: string[]): string | null {
  let cur: XmlElement | undefined = ln;
  for (let i = 0; i < names.length && cur; i++) {
    const last = i === names.length - 1;
    const n = names[i]!;
    cur =
      i === 0
        ? childIndex(cur, 'DOI', 'name').get(n)
        : last
          ? childIndex(cur, 'DAI', 'name').get(n)
          : (childIndex(cur, 'SDI', 'name').get(n) ?? childIndex(cur, 'DAI', 'name').get(n));
  }
  const v = cur ? kid(cur, 'Val') : undefined;
  return v ? v.text.trim() : null;
}

export function resolveFcda(f: XmlElement, ied: XmlElement, t: Templates, warn: Warn): DatasetMember {
  const a = f.attrs;
  const ldInst = a['ldInst'] ?? '';
  const prefix = a['prefix'] ?? '';
  const lnClass = a['lnClass'] ?? '';
  const lnInst = a['lnInst'] ?? '';
  const doName = a['doName'] ?? '';
  const daName = a['daName'] ?? null;
  const fc = a['fc'] ?? '';
  const lnRef = `${ldInst}/${lnLabel(prefix, lnClass, lnInst)}`;
  const fcda = `${lnRef}.${doName}${daName ? '.' + daName : ''} [${fc}]`;
  const member: DatasetMember = { fcda, ldInst, prefix, lnClass, lnInst, doName, daName, fc, line: f.line, leaves: [], resolved: false };
  const unresolved = (why: string): DatasetMember => {
    warn('fcda-unresolved', f, `FCDA ${fcda}: ${why}`);
    return member;
  };
  if (doName === '' || fc === '' || lnClass === '') return unresolved('lacks lnClass, doName or fc');
  const found = findLn(ied, ldInst, prefix, lnClass, lnInst);
  if (!found) return unresolved(`IED ${ied.attrs['name'] ?? ''} has no logical node ${lnRef}`);
  const lnType = found.ln.attrs['lnType'] ?? '';
  const lnt = t.lnTypes.get(lnType);
  if (!lnt) return unresolved(`LNodeType "${lnType}" of ${lnRef} is not in DataTypeTemplates`);

  // doName may name sub-data objects (A.phsA); walk DO then SDOs.
  const doParts = doName.split('.');
  let doType: XmlElement | undefined;
  let holder: XmlElement = lnt;
  for (const part of doParts) {
    const c = Templates.child(holder, part);
    if (!c || (c.kind !== 'DO' && c.kind !== 'SDO') || c.type === null)
      return unresolved(`data object ${part} is not in ${holder.name} "${holder.attrs['id'] ?? ''}"`);
    doType = t.doTypes.get(c.type);
    if (!doType) return unresolved(`DOType "${c.type}" is not in DataTypeTemplates`);
    holder = doType;
  }
  const dt = doType!;
  const base = `${lnRef}.${doName}`;
  const leaves: DatasetLeaf[] = [];
  // Expand a struct type depth-first to its leaves (the order they take in seqData).
  const expand = (ref: string, c: TypeChild, depth: number): boolean => {
    if (depth > 16 || leaves.length >= IMPORT_LIMITS.leavesPerFcda) return false;
    if (c.bType === 'Struct') {
      const st = c.type ? t.daTypes.get(c.type) : undefined;
      if (!st) return false;
      for (const b of Templates.children(st)) if (!expand(`${ref}.${b.name}`, b, depth + 1)) return false;
      return true;
    }
    leaves.push({ ref, fc, bType: c.bType });
    return true;
  };
  const expandFailure = (name: string): string =>
    leaves.length >= IMPORT_LIMITS.leavesPerFcda
      ? `expands to more than ${IMPORT_LIMITS.leavesPerFcda} leaves (limit)`
      : `attribute ${name} has an unresolvable or too deeply nested type`;
  const da = (name: string): TypeChild | undefined => {
    const c = Templates.child(dt, name);
    return c?.kind === 'DA' ? c : undefined;
  };
  if (daName === null) {
    // Whole data object: every DA of the FCDA's functional constraint.
    const sel = Templates.dasWithFc(dt, fc);
    if (sel.length === 0) return unresolved(`DOType "${dt.attrs['id'] ?? ''}" has no attribute with fc ${fc}`);
    for (const c of sel) if (!expand(`${base}.${c.name}`, c, 0)) return unresolved(expandFailure(c.name));
  } else {
    const parts = daName.split('.');
    let c = da(parts[0]!);
    if (!c) return unresolved(`attribute ${parts[0]} is not in DOType "${dt.attrs['id'] ?? ''}"`);
    if (c.fc !== fc) return unresolved(`attribute ${parts[0]} has fc ${c.fc ?? '(none)'}, not ${fc}`);
    for (const part of parts.slice(1)) {
      const st: XmlElement | undefined = c.bType === 'Struct' && c.type ? t.daTypes.get(c.type) : undefined;
      const next: TypeChild | undefined = st ? Templates.child(st, part) : undefined;
      if (!next) return unresolved(`attribute ${part} is not in the type of ${c.name}`);
      c = next;
    }
    if (!expand(`${base}.${daName}`, c, 0)) return unresolved(expandFailure(daName));
  }
  // Scaling for INT32 instMag.i of current/voltage LNs: the sVC of the DO (instance values first, then the type's).
  const sVC = da('sVC');
  const sVCType = sVC?.type ? t.daTypes.get(sVC.type) : undefined;
  const sVCVal = (name: string): { v: number; src: 'instance' | 'template' } | null => {
    const inst = instanceVal(found.ln, [...doParts, 'sVC', name]);
    if (inst !== null && Number.isFinite(Number(inst))) return { v: Number(inst), src: 'instance' };
    const b = sVCType ? Templates.child(sVCType, name) : undefined;
    const tv = b?.vals[0];
    if (tv !== undefined && tv !== '' && Number.isFinite(Number(tv))) return { v: Number(tv), src: 'template' };
    return null;
  };
  for (const leaf of leaves) {
    if (leaf.bType !== 'INT32' || !/\.instMag\.i$/.test(leaf.ref) || !(lnClass in LE_SCALE)) continue;
    const sf = sVCVal('scaleFactor');
    if (sf) {
      leaf.scale = sf.v;
      leaf.offset = sVCVal('offset')?.v ?? 0;
      leaf.scaleSource = sf.src;
    } else {
      leaf.scale = LE_SCALE[lnClass]!;
      leaf.offset = 0;
      leaf.scaleSource = '9-2LE';
    }
  }
  member.leaves = leaves;
  member.resolved = true;
  return member;
}
