// IEC 61850-6 SCD (edition 2007B4) describing the merging units of a simulated run, so that a simulated
// capture can be analysed with `--scl` exactly like a real substation's. Pure: ground-truth config → XML.
//
// The file describes the genuine configuration (attack scenarios change frames, not the SCD). Per MU:
// IED <stream name> / AccessPoint PB1 / LDevice MUnn with LLN0 (DataSet + SampledValueControl MSVCB01) and
// one TCTR/TVTR per channel (instance 1..4 = phase A, B, C, N, as 9-2LE numbers them), the channel scaling
// as instance values of sVC; a Substation section ties the LNs to per-bay CT/VT phases; Communication
// carries MAC, APPID, VLAN. Importer counterpart: src/scl/import.ts.
import type { TruthStream } from './truth.ts';

/** The part of the ground truth's `config` the SCD is written from. */
export interface SclWriterConfig {
  streams: readonly TruthStream[];
  /** Bays in order with their streams; defaults to grouping `streams[].bay`. */
  bays?: readonly { name: string; streams: readonly string[] }[];
}

export interface SclWriterOptions {
  /** The MUs send refrTm (SmvOpts refreshTime); the truth config does not record it. */
  refreshTime?: boolean;
  /** Header id (default "SVDE-simulated-bay"). */
  headerId?: string;
  /** Header toolID (default "svde-sim"). */
  toolID?: string;
}

export const SCL_NAMESPACE = 'http://www.iec.ch/61850/2003/SCL';
/** Names the writer gives; tests and documentation refer to them. */
export const SCL_NAMES = {
  apName: 'PB1',
  cbName: 'MSVCB01',
  dataSet: 'PhsMeas1',
  subNetwork: 'ProcessBus',
  lnTypeLLN0: 'SVDE_LLN0',
  lnTypeTCTR: 'SVDE_TCTR',
  lnTypeTVTR: 'SVDE_TVTR',
  doTypeSAV: 'SVDE_SAV',
  doTypeBeh: 'SVDE_ENS_Beh',
  daTypeAV: 'SVDE_AnalogueValue',
  daTypeSVC: 'SVDE_ScaledValueConfig',
  enumBeh: 'BehaviourModeKind',
} as const;

/** LD inst of the i-th stream (0-based): MU01, MU02, … */
export function ldInstOf(index: number): string {
  return `MU${String(index + 1).padStart(2, '0')}`;
}

/** The SCD's default path for a capture file: the capture's path with the extension replaced by `.scd`. */
export function defaultSclPath(out: string): string {
  const slash = Math.max(out.lastIndexOf('/'), out.lastIndexOf('\\'));
  const dot = out.lastIndexOf('.');
  return `${dot > slash + 1 ? out.slice(0, dot) : out}.scd`;
}

// ---- escaping ----

// XML 1.0 Char production: anything else cannot appear in a document at all, escaped or not.
const NOT_XML_CHAR =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkChars(s: string, what: string): void {
  const m = NOT_XML_CHAR.exec(s);
  if (m)
    throw new Error(`${what} contains U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}, which XML 1.0 cannot carry`);
}

/** Escapes an attribute value (double-quoted); tab/CR/LF as references so attribute normalisation keeps them. */
export function escapeAttr(s: string, what = 'attribute value'): string {
  checkChars(s, what);
  return s.replace(/[&<>"'\t\n\r]/g, (c) => ATTR_ESC[c]!);
}
const ATTR_ESC: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** Escapes character data. */
export function escapeText(s: string, what = 'text'): string {
  checkChars(s, what);
  return s.replace(/[&<>\r]/g, (c) => TEXT_ESC[c]!);
}
const TEXT_ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };

// ---- small XML builder ----

type Attrs = Record<string, string | number | boolean | undefined>;

class Xml {
  readonly lines: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  #depth = 0;
  #open: string[] = [];
  static attrs(a: Attrs): string {
    let s = '';
    for (const [k, v] of Object.entries(a)) if (v !== undefined) s += ` ${k}="${escapeAttr(String(v), `attribute ${k}`)}"`;
    return s;
  }
  open(name: string, a: Attrs = {}): this {
    this.lines.push(`${'  '.repeat(this.#depth)}<${name}${Xml.attrs(a)}>`);
    this.#open.push(name);
    this.#depth++;
    return this;
  }
  close(): this {
    const name = this.#open.pop();
    if (name === undefined) throw new Error('Xml.close without open');
    this.#depth--;
    this.lines.push(`${'  '.repeat(this.#depth)}</${name}>`);
    return this;
  }
  empty(name: string, a: Attrs = {}): this {
    this.lines.push(`${'  '.repeat(this.#depth)}<${name}${Xml.attrs(a)}/>`);
    return this;
  }
  text(name: string, a: Attrs, text: string): this {
    this.lines.push(`${'  '.repeat(this.#depth)}<${name}${Xml.attrs(a)}>${escapeText(text, `text of ${name}`)}</${name}>`);
    return this;
  }
  toString(): string {
    if (this.#open.length) throw new Error(`unclosed elements: ${this.#open.join(' > ')}`);
    return `${this.lines.join('\n')}\n`;
  }
}

// ---- values ----

const PHASE_INST: Record<string, string> = { A: '1', B: '2', C: '3', N: '4' };
const NAME_RE = /^[A-Za-z][0-9A-Za-z_]{0,63}$/; // tIEDName / tLDName

/** "01:0c:cd:04:00:01" → "01-0C-CD-04-00-01" (tP_MAC-Address). */
function sclMac(mac: string, what: string): string {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(mac);
  if (!m) throw new Error(`${what}: "${mac}" is not a MAC address`);
  return m.slice(1).join('-').toUpperCase();
}

function hex(n: number, digits: number, max: number, what: string): string {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${what} ${n} is out of range 0..${max}`);
  return n.toString(16).toUpperCase().padStart(digits, '0');
}

/** A number as xs:float/xs:decimal-compatible text (JS shortest round-trip form; exponent form is valid xs:float). */
function num(x: number, what: string): string {
  if (!Number.isFinite(x)) throw new Error(`${what} ${x} is not a finite number`);
  return String(x);
}

const SMP_MOD_NAME: Record<number, string> = { 0: 'SmpPerPeriod', 1: 'SmpPerSec', 2: 'SecPerSmp' };

interface Channel {
  kind: 'current' | 'voltage';
  lnClass: 'TCTR' | 'TVTR';
  doName: 'AmpSv' | 'VolSv';
  inst: string;
  scale: number;
  offset: number;
  phase: string;
}

function channelsOf(s: TruthStream): Channel[] {
  const seen = new Set<string>();
  return s.channels.map((c) => {
    const what = `stream ${s.name} channel ${c.name}`;
    if (c.kind !== 'current' && c.kind !== 'voltage') throw new Error(`${what}: kind "${c.kind}" is neither current nor voltage`);
    const inst = PHASE_INST[c.phase];
    if (inst === undefined) throw new Error(`${what}: phase "${c.phase}" is not A, B, C or N`);
    const key = `${c.kind}/${c.phase}`;
    if (seen.has(key))
      throw new Error(`${what}: a second ${c.kind} of phase ${c.phase}; one TCTR/TVTR per phase is all this writer describes`);
    seen.add(key);
    const offset = (c as { offset?: number }).offset ?? 0;
    return {
      kind: c.kind,
      lnClass: c.kind === 'current' ? 'TCTR' : 'TVTR',
      doName: c.kind === 'current' ? 'AmpSv' : 'VolSv',
      inst,
      scale: c.scale,
      offset,
      phase: c.phase,
    };
  });
}

/** The ASDU's datSet "LDName/LLN0$DataSet" → the LDevice ldName (when it differs from IED name + inst) and DataSet name. */
function dataSetNames(s: TruthStream, iedName: string, ldInst: string): { ldName?: string; dsName: string } {
  if (s.datSet === null) return { dsName: SCL_NAMES.dataSet };
  const m = /^([^/]+)\/LLN0\$([A-Za-z][0-9A-Za-z_]{0,31})$/.exec(s.datSet);
  if (!m) throw new Error(`stream ${s.name}: datSet "${s.datSet}" is not of the form LDName/LLN0$DataSet`);
  const ldName = m[1]!;
  const dsName = m[2]!;
  if (ldName === iedName + ldInst) return { dsName };
  if (!NAME_RE.test(ldName)) throw new Error(`stream ${s.name}: LD name "${ldName}" of datSet "${s.datSet}" is not a valid SCL ldName`);
  return { ldName, dsName };
}

// ---- the document ----

/** The SCD text for the streams of a simulated run. Throws on a configuration SCL cannot describe. */
export function writeScl(config: SclWriterConfig, opts: SclWriterOptions = {}): string {
  const streams = config.streams;
  if (streams.length === 0) throw new Error('no streams to describe');
  const names = new Set<string>();
  const chans = streams.map((s) => {
    if (!NAME_RE.test(s.name)) throw new Error(`stream name "${s.name}" is not a valid IED name ([A-Za-z][0-9A-Za-z_]{0,63})`);
    if (names.has(s.name)) throw new Error(`two streams named "${s.name}"`);
    names.add(s.name);
    if (s.svID === '') throw new Error(`stream ${s.name} has an empty svID`);
    if (s.channels.length === 0) throw new Error(`stream ${s.name} has no channels`);
    return channelsOf(s);
  });
  const x = new Xml();
  x.open('SCL', { xmlns: SCL_NAMESPACE, version: '2007', revision: 'B', release: '4' });
  x.empty('Header', {
    id: opts.headerId ?? 'SVDE-simulated-bay',
    version: '1',
    revision: 'A',
    toolID: opts.toolID ?? 'svde-sim',
    nameStructure: 'IEDName',
  });

  // Substation: per bay one CT and one VT whose phases carry the LNodes of every MU measuring them.
  const bays = config.bays ?? groupBays(streams);
  const byName = new Map(streams.map((s, i) => [s.name, i]));
  x.open('Substation', { name: 'SVDE' });
  x.open('VoltageLevel', { name: 'VL1' });
  for (const bay of bays) {
    x.open('Bay', { name: bay.name });
    for (const [type, eqName, lnClass] of [
      ['CTR', 'CT', 'TCTR'],
      ['VTR', 'VT', 'TVTR'],
    ] as const) {
      const members = bay.streams
        .map((n) => byName.get(n))
        .filter((i): i is number => i !== undefined)
        .filter((i) => chans[i]!.some((c) => c.lnClass === lnClass));
      if (members.length === 0) continue;
      x.open('ConductingEquipment', { name: eqName, type });
      for (const phase of ['A', 'B', 'C', 'N']) {
        const refs = members.flatMap((i) => chans[i]!.filter((c) => c.lnClass === lnClass && c.phase === phase).map((c) => ({ i, c })));
        if (refs.length === 0) continue;
        x.open('SubEquipment', { name: phase, phase });
        for (const { i, c } of refs)
          x.empty('LNode', { iedName: streams[i]!.name, ldInst: ldInstOf(i), prefix: '', lnClass: c.lnClass, lnInst: c.inst });
        x.close();
      }
      x.close();
    }
    x.close();
  }
  x.close().close();

  // Communication: one process-bus subnetwork, an SMV address per MU.
  x.open('Communication');
  x.open('SubNetwork', { name: SCL_NAMES.subNetwork, type: '8-MMS' });
  x.text('Text', {}, 'IEC 61850-9-2 process bus (simulated)');
  streams.forEach((s, i) => {
    x.open('ConnectedAP', { iedName: s.name, apName: SCL_NAMES.apName });
    x.open('SMV', { ldInst: ldInstOf(i), cbName: SCL_NAMES.cbName });
    x.open('Address');
    x.text('P', { type: 'MAC-Address' }, sclMac(s.dstMac, `stream ${s.name} dstMac`));
    x.text('P', { type: 'APPID' }, hex(s.appId, 4, 0xffff, `stream ${s.name} APPID`));
    // One VLAN tag fits an SCL address: the outer tag, which is what a capture's vlanId shows.
    const tag = s.vlan[0];
    if (tag) {
      x.text('P', { type: 'VLAN-ID' }, hex(tag.id, 3, 0xfff, `stream ${s.name} VLAN id`));
      x.text('P', { type: 'VLAN-PRIORITY' }, hex(tag.priority, 1, 7, `stream ${s.name} VLAN priority`));
    }
    x.close().close().close();
  });
  x.close().close();

  // IEDs.
  streams.forEach((s, i) => {
    const ldInst = ldInstOf(i);
    const ch = chans[i]!;
    const ds = dataSetNames(s, s.name, ldInst);
    x.open('IED', {
      name: s.name,
      desc: `simulated merging unit, bay ${s.bay}`,
      type: 'SVDE-sim-MU',
      manufacturer: 'SVDE',
      configVersion: '1',
    });
    x.open('AccessPoint', { name: SCL_NAMES.apName });
    x.open('Server');
    x.empty('Authentication');
    x.open('LDevice', { inst: ldInst, ldName: ds.ldName });
    x.open('LN0', { lnClass: 'LLN0', inst: '', lnType: SCL_NAMES.lnTypeLLN0 });
    x.open('DataSet', { name: ds.dsName });
    for (const c of ch) {
      for (const daName of ['instMag.i', 'q'])
        x.empty('FCDA', { ldInst, prefix: '', lnClass: c.lnClass, lnInst: c.inst, doName: c.doName, daName, fc: 'MX' });
    }
    x.close();
    // 9-2LE: smpRate per nominal period and no smpMod; otherwise the smpMod the ASDU carries.
    let smpRate = s.smpRate;
    let smpMod: string | undefined;
    if (s.smpMod !== null) {
      smpMod = SMP_MOD_NAME[s.smpMod];
      if (smpMod === undefined) throw new Error(`stream ${s.name}: smpMod ${s.smpMod} is not 0, 1 or 2`);
    }
    if (smpRate === null) {
      smpRate = s.samplesPerSecond;
      smpMod = 'SmpPerSec';
    }
    x.open('SampledValueControl', {
      name: SCL_NAMES.cbName,
      datSet: ds.dsName,
      confRev: s.confRev,
      smvID: s.svID,
      multicast: true,
      smpRate,
      nofASDU: s.nofASDU,
      smpMod,
    });
    // security: the SVDE SM2 trailer is not the savPdu security field; signing is in the configuration file.
    x.empty('SmvOpts', {
      refreshTime: opts.refreshTime ?? false,
      sampleSynchronized: true,
      sampleRate: s.smpRate !== null,
      dataSet: s.datSet !== null,
      security: false,
      synchSourceId: false,
    });
    x.close(); // SampledValueControl
    x.close(); // LN0
    for (const c of ch) {
      x.open('LN', {
        prefix: '',
        lnClass: c.lnClass,
        inst: c.inst,
        lnType: c.lnClass === 'TCTR' ? SCL_NAMES.lnTypeTCTR : SCL_NAMES.lnTypeTVTR,
      });
      x.open('DOI', { name: c.doName });
      x.open('SDI', { name: 'sVC' });
      x.open('DAI', { name: 'scaleFactor' })
        .text('Val', {}, num(c.scale, `stream ${s.name} scale`))
        .close();
      x.open('DAI', { name: 'offset' })
        .text('Val', {}, num(c.offset, `stream ${s.name} offset`))
        .close();
      x.close().close().close();
    }
    x.close().close().close().close(); // LDevice Server AccessPoint IED
  });

  // DataTypeTemplates the FCDAs resolve through.
  const usesI = chans.some((ch) => ch.some((c) => c.lnClass === 'TCTR'));
  const usesV = chans.some((ch) => ch.some((c) => c.lnClass === 'TVTR'));
  x.open('DataTypeTemplates');
  x.open('LNodeType', { id: SCL_NAMES.lnTypeLLN0, lnClass: 'LLN0' }).empty('DO', { name: 'Beh', type: SCL_NAMES.doTypeBeh }).close();
  if (usesI)
    x.open('LNodeType', { id: SCL_NAMES.lnTypeTCTR, lnClass: 'TCTR' }).empty('DO', { name: 'AmpSv', type: SCL_NAMES.doTypeSAV }).close();
  if (usesV)
    x.open('LNodeType', { id: SCL_NAMES.lnTypeTVTR, lnClass: 'TVTR' }).empty('DO', { name: 'VolSv', type: SCL_NAMES.doTypeSAV }).close();
  x.open('DOType', { id: SCL_NAMES.doTypeBeh, cdc: 'ENS' });
  x.empty('DA', { name: 'stVal', bType: 'Enum', type: SCL_NAMES.enumBeh, fc: 'ST', dchg: true });
  x.empty('DA', { name: 'q', bType: 'Quality', fc: 'ST', qchg: true });
  x.empty('DA', { name: 't', bType: 'Timestamp', fc: 'ST' });
  x.close();
  x.open('DOType', { id: SCL_NAMES.doTypeSAV, cdc: 'SAV' });
  x.empty('DA', { name: 'instMag', bType: 'Struct', type: SCL_NAMES.daTypeAV, fc: 'MX' });
  x.empty('DA', { name: 'q', bType: 'Quality', fc: 'MX', qchg: true });
  x.empty('DA', { name: 'sVC', bType: 'Struct', type: SCL_NAMES.daTypeSVC, fc: 'CF', dchg: true });
  x.close();
  x.open('DAType', { id: SCL_NAMES.daTypeAV }).empty('BDA', { name: 'i', bType: 'INT32' }).close();
  x.open('DAType', { id: SCL_NAMES.daTypeSVC });
  x.empty('BDA', { name: 'scaleFactor', bType: 'FLOAT32' });
  x.empty('BDA', { name: 'offset', bType: 'FLOAT32' });
  x.close();
  x.open('EnumType', { id: SCL_NAMES.enumBeh });
  (['on', 'on-blocked', 'test', 'test/blocked', 'off'] as const).forEach((v, k) => x.text('EnumVal', { ord: k + 1 }, v));
  x.close();
  x.close(); // DataTypeTemplates
  x.close(); // SCL
  return x.toString();
}

function groupBays(streams: readonly TruthStream[]): { name: string; streams: string[] }[] {
  const m = new Map<string, string[]>();
  for (const s of streams) {
    const l = m.get(s.bay);
    if (l) l.push(s.name);
    else m.set(s.bay, [s.name]);
  }
  return [...m].map(([name, list]) => ({ name, streams: list }));
}
