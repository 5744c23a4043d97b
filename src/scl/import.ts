// SCL (IEC 61850-6) import: SampledValueControl blocks + Communication/SMV addresses → stream table.
// Real files are messy, so everything sound is imported and everything else becomes a precise warning
// (code, XPath-like path, line). Only a file that is not readable SCL at all throws (SclParseError).
import type { ChannelDescription, ChannelKind, ChannelPhase, ChannelSet } from '../model/channels.ts';
import { DEFAULT_XML_LIMITS, kid, kids, readSclXml } from './xml.ts';
import type { XmlElement, XmlLimits } from './xml.ts';
import { SMP_MOD_CODE } from './model.ts';
import type {
  AcceptEntry, DatasetLeaf, DatasetMember, SclEdition, SclImport, SclStream, SclWarning, SmpMod, StreamAddress, WarningCode,
} from './model.ts';

export interface ImportOptions {
  limits?: Partial<XmlLimits>;
}

/** Reads and imports an SCL file. Throws SclParseError when the file is not readable SCL. */
export function importSclFile(file: string, opts: ImportOptions = {}): SclImport {
  const root = readSclXml(file, { ...DEFAULT_XML_LIMITS, ...opts.limits });
  return importScl(file, root);
}

/** Path of an element as /SCL/IED[@name='x']/…, naming it by the attributes that identify it in SCL. */
export function elementPath(el: XmlElement): string {
  const parts: string[] = [];
  for (let e: XmlElement | null = el; e !== null; e = e.parent) {
    const ids = ID_ATTRS[e.name] ?? ['name'];
    const preds = ids.filter((a) => e.attrs[a] !== undefined).map((a) => `[@${a}='${e.attrs[a]}']`).join('');
    parts.push(e.name + preds);
  }
  return '/' + parts.reverse().join('/');
}
const ID_ATTRS: Record<string, string[]> = {
  SCL: [], Communication: [], Server: [], Address: [], DataTypeTemplates: [],
  ConnectedAP: ['iedName', 'apName'], SMV: ['ldInst', 'cbName'], GSE: ['ldInst', 'cbName'], P: ['type'],
  LDevice: ['inst'], LN0: [], LN: ['prefix', 'lnClass', 'inst'],
  FCDA: ['ldInst', 'prefix', 'lnClass', 'lnInst', 'doName', 'daName', 'fc'],
  LNodeType: ['id'], DOType: ['id'], DAType: ['id'], EnumType: ['id'],
};

/**
 * Bounds on what one file may make the importer produce. A well-formed but hostile file could otherwise
 * multiply its size through type expansion (structs of structs) or shared datasets.
 */
export const IMPORT_LIMITS = {
  controlBlocks: 10_000,
  fcdasPerDataSet: 1024,
  leavesPerFcda: 256,
  /** Dataset members resolved over all control blocks. */
  totalMembers: 200_000,
  warnings: 10_000,
} as const;

// Scaling by the UCA 9-2LE convention when the SCL gives no sVC: 1 mA and 10 mV per LSB.
const LE_SCALE: Record<string, number> = { TCTR: 0.001, TVTR: 0.01 };
const KIND_OF_CLASS: Record<string, ChannelKind> = { TCTR: 'current', TVTR: 'voltage' };

export function importScl(file: string, root: XmlElement): SclImport {
  const warnings: SclWarning[] = [];
  let dropped = 0;
  const warn: Warn = (code, el, message, path, line) => {
    if (warnings.length >= IMPORT_LIMITS.warnings) { dropped++; return; }
    warnings.push({ code, path: path ?? (el ? elementPath(el) : '/SCL'), line: line ?? (el ? el.line : null), message });
  };

  // Edition from the root's version/revision/release.
  const version = { version: root.attrs['version'] ?? null, revision: root.attrs['revision'] ?? null, release: root.attrs['release'] ?? null };
  let edition: SclEdition | null = null;
  if (version.version === null) edition = '2003';
  else if (version.version === '2007' && version.revision === 'A') edition = '2007A';
  else if (version.version === '2007' && version.revision === 'B' && (version.release === null || version.release === '1')) edition = '2007B';
  else if (version.version === '2007' && version.revision === 'B' && version.release === '4') edition = '2007B4';
  if (edition === null) {
    warn('unsupported-edition', root, `SCL version="${version.version}" revision="${version.revision ?? ''}" release="${version.release ?? ''}" is not one of 2003, 2007A, 2007B, 2007B4; read as 2007B4`);
  }
  const headerEl = kid(root, 'Header');
  const header = {
    id: headerEl?.attrs['id'] ?? null, version: headerEl?.attrs['version'] ?? null,
    revision: headerEl?.attrs['revision'] ?? null, toolID: headerEl?.attrs['toolID'] ?? null,
  };

  const templates = new Templates(kid(root, 'DataTypeTemplates'));
  const phaseHints = substationPhases(root);
  const budget: Budget = { members: IMPORT_LIMITS.totalMembers, exceeded: false, datasets: new Map() };

  // Control blocks, by IED/AP/LD/cbName.
  const streams: SclStream[] = [];
  for (const ied of kids(root, 'IED')) {
    for (const ap of kids(ied, 'AccessPoint')) {
      const server = kid(ap, 'Server');
      if (!server) continue;
      for (const ld of kids(server, 'LDevice')) {
        const ln0 = kid(ld, 'LN0');
        if (!ln0) continue;
        for (const svcb of kids(ln0, 'SampledValueControl')) {
          if (streams.length >= IMPORT_LIMITS.controlBlocks) {
            warn('limit-exceeded', svcb, `more than ${IMPORT_LIMITS.controlBlocks} SampledValueControl blocks; the rest are not imported`);
            break;
          }
          const s = readSvcb(svcb, ied, ap, ld, ln0, edition, templates, phaseHints, budget, warn);
          if (s) streams.push(s);
        }
      }
    }
  }

  // Addresses from Communication/SubNetwork/ConnectedAP/SMV.
  const byKey = new Map(streams.map((s) => [s.key, s]));
  const cbNamesByLd = new Map<string, string[]>();
  for (const s of streams) {
    const k = `${s.iedName}/${s.ldInst}`;
    const l = cbNamesByLd.get(k);
    if (l) l.push(s.cbName); else cbNamesByLd.set(k, [s.cbName]);
  }
  const apsWithServerOf = serverAtMap(root);
  const comm = kid(root, 'Communication');
  for (const sn of comm ? kids(comm, 'SubNetwork') : []) {
    for (const cap of kids(sn, 'ConnectedAP')) {
      const iedName = cap.attrs['iedName'] ?? '';
      const apName = cap.attrs['apName'] ?? '';
      for (const smv of kids(cap, 'SMV')) {
        const ldInst = smv.attrs['ldInst'] ?? '';
        const cbName = smv.attrs['cbName'] ?? '';
        const key = `${iedName}/${ldInst}/LLN0.${cbName}`;
        const s = byKey.get(key);
        if (!s) {
          warn('smv-address-dangling', smv, `ConnectedAP ${iedName}/${apName} has an SMV address for ${ldInst}/LLN0.${cbName}, but IED ${iedName} has no such SampledValueControl${similarHint(cbName, cbNamesByLd.get(`${iedName}/${ldInst}`) ?? [])}`);
          continue;
        }
        const servedAps = apsWithServerOf.get(`${iedName}/${s.apName}`) ?? [s.apName];
        if (!servedAps.includes(apName)) {
          warn('smv-address-dangling', smv, `SMV address for ${key} is under access point ${apName}, but the control block is in access point ${s.apName}`);
          continue;
        }
        const addr = readAddress(smv, sn, iedName, apName, s, warn);
        if (!addr) continue;
        if (s.address) {
          warn('address-duplicate', smv, `${key} already has an address (line ${s.address.line ?? '?'}); this one is ignored`);
          continue;
        }
        s.address = addr;
      }
    }
  }

  for (const s of streams) {
    if (!s.address) warn('svcb-no-address', null, `SampledValueControl ${s.key} (smvID ${s.svID}) has no SMV address in Communication: its MAC, APPID and VLAN are unknown`, s.path, s.line);
  }

  // Cross-stream checks: shared MAC+APPID, duplicate smvID.
  const groups = (keyOf: (s: SclStream) => string | null): SclStream[][] => {
    const m = new Map<string, SclStream[]>();
    for (const s of streams) {
      const k = keyOf(s);
      if (k === null) continue;
      const g = m.get(k);
      if (g) g.push(s); else m.set(k, [s]);
    }
    return [...m.values()].filter((g) => g.length > 1);
  };
  for (const g of groups((s) => (s.address?.dstMac && s.address.appId !== null ? `${s.address.dstMac}/${s.address.appId}` : null))) {
    const a = g[0]!.address!;
    warn('shared-mac-appid', null, `${g.length} control blocks share MAC ${a.dstMac} and APPID ${a.appIdHex}: ${g.map((s) => s.key).join(', ')} (frames can only be told apart by svID)`, g[0]!.path, a.line);
  }
  for (const g of groups((s) => s.svID)) {
    warn('duplicate-smvid', null, `${g.length} control blocks have smvID "${g[0]!.svID}": ${g.map((s) => s.key).join(', ')}`, g[0]!.path, g[0]!.line);
  }

  const acceptList: AcceptEntry[] = streams.filter((s) => s.address).map((s) => ({
    svID: s.svID, key: s.key, dstMac: s.address!.dstMac, appId: s.address!.appId, vlanId: s.address!.vlanId,
    vlanPriority: s.address!.vlanPriority, confRev: s.confRev, sourceMacs: [],
  }));

  if (dropped > 0) {
    warnings.push({ code: 'limit-exceeded', path: '/SCL', line: null, message: `${dropped} more warnings not listed (limit ${IMPORT_LIMITS.warnings})` });
  }
  return { file, edition, version, header, streams, acceptList, warnings };
}

interface Budget {
  members: number;
  exceeded: boolean;
  /** Datasets already resolved (several control blocks may share one). */
  datasets: Map<XmlElement, DatasetMember[]>;
}

type Warn = (code: WarningCode, el: XmlElement | null, message: string, path?: string, line?: number | null) => void;

function similarHint(name: string, candidates: string[]): string {
  if (candidates.length === 0) return '';
  const norm = (x: string): string => x.toLowerCase().replace(/(.)\1+/g, '$1');
  const close = candidates.find((c) => norm(c) === norm(name));
  return close ? ` (did it mean "${close}"?)` : ` (its control blocks there: ${candidates.join(', ')})`;
}

/** AccessPoints that reach a server through ServerAt: key IED/AP-with-server → APs that may carry its addresses. */
function serverAtMap(root: XmlElement): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const ied of kids(root, 'IED')) {
    const name = ied.attrs['name'] ?? '';
    for (const ap of kids(ied, 'AccessPoint')) {
      const apName = ap.attrs['name'] ?? '';
      const k = `${name}/${apName}`;
      if (!m.has(k)) m.set(k, [apName]);
      const at = kid(ap, 'ServerAt');
      if (at?.attrs['apName']) {
        const target = `${name}/${at.attrs['apName']}`;
        const list = m.get(target) ?? [at.attrs['apName']];
        list.push(apName);
        m.set(target, list);
      }
    }
  }
  return m;
}

function parseBool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return v === 'true' || v === '1';
}

function parseUInt(v: string | undefined, what: string, el: XmlElement, warn: Warn): number | null {
  if (v === undefined) return null;
  if (!/^\s*\d+\s*$/.test(v)) {
    warn('attribute-invalid', el, `${what}="${v}" is not an unsigned integer; ignored`);
    return null;
  }
  return Number(v.trim());
}

function readSvcb(
  svcb: XmlElement, ied: XmlElement, ap: XmlElement, ld: XmlElement, ln0: XmlElement,
  edition: SclEdition | null, templates: Templates, phases: PhaseHints, budget: Budget, warn: Warn,
): SclStream | null {
  const iedName = ied.attrs['name'] ?? '';
  const ldInst = ld.attrs['inst'] ?? '';
  const cbName = svcb.attrs['name'];
  const smvID = svcb.attrs['smvID'];
  if (cbName === undefined || cbName === '') {
    warn('svcb-invalid', svcb, `SampledValueControl without a name in ${iedName}/${ldInst}; skipped`);
    return null;
  }
  const key = `${iedName}/${ldInst}/LLN0.${cbName}`;
  if (smvID === undefined || smvID === '') {
    warn('svcb-invalid', svcb, `SampledValueControl ${key} has no smvID, so its frames cannot be recognised; skipped`);
    return null;
  }
  const smpRate = parseUInt(svcb.attrs['smpRate'], 'smpRate', svcb, warn);
  const nofASDU = parseUInt(svcb.attrs['nofASDU'], 'nofASDU', svcb, warn);
  const confRev = parseUInt(svcb.attrs['confRev'], 'confRev', svcb, warn);
  if (smpRate === null && svcb.attrs['smpRate'] === undefined) warn('attribute-invalid', svcb, `SampledValueControl ${key} has no smpRate (required); the rate is not checked against SCL`);
  if (nofASDU === null && svcb.attrs['nofASDU'] === undefined) warn('attribute-invalid', svcb, `SampledValueControl ${key} has no nofASDU (required); the ASDU count is not checked against SCL`);
  // smpMod is an Ed2 attribute with default SmpPerPeriod; Ed1 (2003) has no smpMod and smpRate is per period.
  let smpMod: SmpMod = 'SmpPerPeriod';
  const smpModAttr = svcb.attrs['smpMod'];
  if (smpModAttr !== undefined) {
    if (smpModAttr === 'SmpPerPeriod' || smpModAttr === 'SmpPerSec' || smpModAttr === 'SecPerSmp') smpMod = smpModAttr;
    else warn('attribute-invalid', svcb, `smpMod="${smpModAttr}" is not SmpPerPeriod, SmpPerSec or SecPerSmp; SmpPerPeriod assumed`);
    if (edition === '2003') warn('attribute-not-in-edition', svcb, `smpMod is not an attribute of SCL 2003 (smpRate is per period there); "${smpModAttr}" is used as written`);
  }
  const opts = kid(svcb, 'SmvOpts');
  const smvOpts: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(opts?.attrs ?? {})) if (!k.includes(':')) smvOpts[k] = parseBool(v, false);
  const securityEnable = svcb.attrs['securityEnable'] ?? 'None';
  const securityEnabled = securityEnable !== 'None' || smvOpts['security'] === true;

  const datSet = svcb.attrs['datSet'] ?? null;
  let dataset: DatasetMember[] | null = null;
  if (datSet === null || datSet === '') {
    warn('dataset-missing', svcb, `SampledValueControl ${key} names no datSet; channel order and scaling unknown`);
  } else {
    const ds = childIndex(ln0, 'DataSet', 'name').get(datSet);
    const fcdas = ds ? kids(ds, 'FCDA') : [];
    if (!ds) {
      warn('dataset-missing', svcb, `SampledValueControl ${key} names datSet "${datSet}", which LN0 of ${iedName}/${ldInst} does not hold`);
    } else if (budget.datasets.has(ds)) {
      dataset = budget.datasets.get(ds)!;
    } else if (fcdas.length > IMPORT_LIMITS.fcdasPerDataSet) {
      warn('limit-exceeded', ds, `DataSet ${datSet} has ${fcdas.length} FCDAs (limit ${IMPORT_LIMITS.fcdasPerDataSet}); not resolved`);
    } else if (fcdas.length > budget.members) {
      if (!budget.exceeded) warn('limit-exceeded', ds, `more than ${IMPORT_LIMITS.totalMembers} dataset members in the file; this and further datasets are not resolved`);
      budget.exceeded = true;
    } else {
      budget.members -= fcdas.length;
      dataset = fcdas.map((f) => resolveFcda(f, ied, templates, warn));
      budget.datasets.set(ds, dataset);
      if (dataset.length === 0) warn('dataset-empty', ds, `DataSet ${datSet} of ${key} has no FCDA`);
    }
  }
  const path = elementPath(svcb);
  const channelSet = dataset ? toChannelSet(key, iedName, dataset, phases, svcb, warn) : null;
  return {
    key, iedName, apName: ap.attrs['name'] ?? '', ldInst, ln: 'LLN0', cbName, svID: smvID,
    datSet, datSetRef: datSet ? `${ld.attrs['ldName'] ?? iedName + ldInst}/LLN0$${datSet}` : null, dataset, confRev, smpRate, smpMod, smpModCode: SMP_MOD_CODE[smpMod], smpModDefaulted: smpModAttr === undefined,
    nofASDU, multicast: parseBool(svcb.attrs['multicast'], true), securityEnabled, smvOpts,
    address: null, channelSet, line: svcb.line, path,
  };
}

// ---- Communication ----

const MAC_RE = /^([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})[-:]([0-9A-Fa-f]{2})$/;

function readAddress(smv: XmlElement, sn: XmlElement, iedName: string, apName: string, s: SclStream, warn: Warn): StreamAddress | null {
  const addr = kid(smv, 'Address');
  if (!addr) {
    warn('address-invalid', smv, `SMV entry for ${s.key} has no Address element`);
    return null;
  }
  const p: Record<string, { v: string; el: XmlElement }> = {};
  for (const el of kids(addr, 'P')) if (el.attrs['type']) p[el.attrs['type']] = { v: el.text.trim(), el };
  let dstMac: string | null = null;
  const mac = p['MAC-Address'];
  if (!mac) warn('address-invalid', addr, `SMV address of ${s.key} has no MAC-Address`);
  else if (!MAC_RE.test(mac.v)) warn('address-invalid', mac.el, `MAC-Address "${mac.v}" of ${s.key} is not six hex octets`);
  else {
    dstMac = mac.v.toLowerCase().replace(/-/g, ':');
    const n = parseInt(dstMac.replace(/:/g, ''), 16);
    // IEC 61850-9-2 Annex C multicast range for SV.
    if (s.multicast && (n < 0x010ccd040000 || n > 0x010ccd0401ff)) {
      warn('mac-out-of-range', mac.el, `MAC-Address ${mac.v} of ${s.key} is outside the SV multicast range 01-0C-CD-04-00-00..01-0C-CD-04-01-FF`);
    }
  }
  const hex = (name: string, digits: number): { n: number | null; hex: string | null } => {
    const e = p[name];
    if (!e) return { n: null, hex: null };
    if (!new RegExp(`^[0-9A-Fa-f]{1,${digits}}$`).test(e.v)) {
      warn('address-invalid', e.el, `${name} "${e.v}" of ${s.key} is not 1 to ${digits} hex digits`);
      return { n: null, hex: null };
    }
    return { n: parseInt(e.v, 16), hex: e.v.toUpperCase() };
  };
  const appId = hex('APPID', 4);
  if (!p['APPID']) warn('address-invalid', addr, `SMV address of ${s.key} has no APPID`);
  else if (appId.n !== null && (appId.n < 0x4000 || appId.n > 0x7fff)) {
    warn('appid-out-of-range', p['APPID'].el, `APPID ${appId.hex} of ${s.key} is outside the SV range 4000..7FFF (IEC 61850-9-2)`);
  }
  const vlan = hex('VLAN-ID', 3);
  let vlanPriority: number | null = null;
  const pr = p['VLAN-PRIORITY'];
  if (pr) {
    if (/^[0-7]$/.test(pr.v)) vlanPriority = Number(pr.v);
    else warn('address-invalid', pr.el, `VLAN-PRIORITY "${pr.v}" of ${s.key} is not 0..7`);
  }
  return {
    subNetwork: sn.attrs['name'] ?? '', connectedAP: { iedName, apName }, dstMac, appId: appId.n, appIdHex: appId.hex,
    vlanId: vlan.n, vlanIdHex: vlan.hex, vlanPriority, line: smv.line,
  };
}

// ---- DataTypeTemplates ----

interface TypeChild { name: string; bType: string; type: string | null; fc: string | null; vals: string[]; kind: 'DO' | 'SDO' | 'DA' | 'BDA' }

class Templates {
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
      const list = t.children.filter((c) => ['DO', 'SDO', 'DA', 'BDA'].includes(c.name)).map((c) => ({
        name: c.attrs['name'] ?? '', bType: c.attrs['bType'] ?? '', type: c.attrs['type'] ?? null, fc: c.attrs['fc'] ?? null,
        vals: kids(c, 'Val').map((v) => v.text.trim()), kind: c.name as TypeChild['kind'],
      }));
      const byName = new Map<string, TypeChild>();
      const daByFc = new Map<string, TypeChild[]>();
      for (const c of list) {
        if (!byName.has(c.name)) byName.set(c.name, c);
        if (c.kind === 'DA' && c.fc !== null) {
          const l = daByFc.get(c.fc);
          if (l) l.push(c); else daByFc.set(c.fc, [c]);
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
function childIndex(el: XmlElement, name: string, attr: string): Map<string, XmlElement> {
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
        const key = ln.name === 'LN0' ? `${inst}|LLN0`
          : ln.name === 'LN' ? `${inst}|${ln.attrs['prefix'] ?? ''}|${ln.attrs['lnClass'] ?? ''}|${ln.attrs['inst'] ?? ''}` : null;
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
    cur = i === 0 ? childIndex(cur, 'DOI', 'name').get(n)
      : last ? childIndex(cur, 'DAI', 'name').get(n)
      : childIndex(cur, 'SDI', 'name').get(n) ?? childIndex(cur, 'DAI', 'name').get(n);
  }
  const v = cur ? kid(cur, 'Val') : undefined;
  return v ? v.text.trim() : null;
}

function resolveFcda(f: XmlElement, ied: XmlElement, t: Templates, warn: Warn): DatasetMember {
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
    if (!c || (c.kind !== 'DO' && c.kind !== 'SDO') || c.type === null) return unresolved(`data object ${part} is not in ${holder.name} "${holder.attrs['id'] ?? ''}"`);
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
  const expandFailure = (name: string): string => (leaves.length >= IMPORT_LIMITS.leavesPerFcda
    ? `expands to more than ${IMPORT_LIMITS.leavesPerFcda} leaves (limit)` : `attribute ${name} has an unresolvable or too deeply nested type`);
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

// ---- Channels ----

/** Phase of an LN from the Substation section: LNode under a (Sub)Equipment with a phase. Key IED/LD/prefix+class+inst. */
type PhaseHints = Map<string, ChannelPhase>;

function substationPhases(root: XmlElement): PhaseHints {
  const m: PhaseHints = new Map();
  const walk = (el: XmlElement, phase: string | null, depth: number): void => {
    if (depth > 32) return;
    const ph = el.name === 'SubEquipment' ? (el.attrs['phase'] ?? phase) : phase;
    if (el.name === 'LNode' && ph !== null && ['A', 'B', 'C', 'N'].includes(ph)) {
      const a = el.attrs;
      m.set(`${a['iedName'] ?? 'None'}/${a['ldInst'] ?? ''}/${a['prefix'] ?? ''}${a['lnClass'] ?? ''}${a['lnInst'] ?? ''}`, ph as ChannelPhase);
    }
    for (const c of el.children) walk(c, ph, depth + 1);
  };
  for (const s of kids(root, 'Substation')) walk(s, null, 0);
  return m;
}

const PREFIX_PHASE: Record<string, ChannelPhase> = {
  L1: 'A', L2: 'B', L3: 'C', A: 'A', B: 'B', C: 'C', PHA: 'A', PHB: 'B', PHC: 'C', N: 'N', RES: 'N', L0: 'N', NEUT: 'N',
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
function toChannelSet(key: string, iedName: string, ds: DatasetMember[], hints: PhaseHints, svcb: XmlElement, warn: Warn): ChannelSet | null {
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
      warn('channels-unmapped', svcb, `dataset of ${key} is not a sequence of current/voltage instMag.i + q pairs (at ${v.leaf.ref}); no channel set`);
      return null;
    }
    const phase = phaseOf(iedName, v.m, hints);
    if (phase === null) {
      warn('channels-unmapped', svcb, `phase of ${v.leaf.ref} in ${key} is unknown (no Substation LNode phase, L1/L2/L3 prefix or 9-2LE instance 1..4); no channel set`);
      return null;
    }
    channels.push({ name: `${kind === 'current' ? 'I' : 'V'}${phase}`, kind, phase, scale: v.leaf.scale, ...(v.leaf.offset ? { offset: v.leaf.offset } : {}) });
  }
  if (channels.length === 0) return null;
  return { id: `scl:${key}`, description: `from SCL ${key}: ${channels.map((c) => c.name).join(' ')}`, channels };
}

/** Samples per second of a stream for the nominal frequency (smpMod decides what smpRate counts). */
export function samplesPerSecond(s: Pick<SclStream, 'smpRate' | 'smpMod'>, nominalHz: number): number | null {
  if (s.smpRate === null || s.smpRate === 0) return null;
  if (s.smpMod === 'SmpPerPeriod') return s.smpRate * nominalHz;
  if (s.smpMod === 'SmpPerSec') return s.smpRate;
  return 1 / s.smpRate;
}
