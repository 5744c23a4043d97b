// SCL (IEC 61850-6) import: SampledValueControl blocks + Communication/SMV addresses → stream table.
// Real files are messy, so everything sound is imported and everything else becomes a precise warning
// (code, XPath-like path, line). Only a file that is not readable SCL at all throws (SclParseError).
// This file assembles the streams; address.ts reads Communication, fcda.ts resolves datasets against
// DataTypeTemplates, channels.ts maps them to channel sets, diagnostics.ts holds warnings and limits.
import { DEFAULT_XML_LIMITS, kid, kids, readSclXml } from './xml.ts';
import type { XmlElement, XmlLimits } from './xml.ts';
import { SMP_MOD_CODE } from './model.ts';
import type { AcceptEntry, DatasetMember, SclEdition, SclImport, SclStream, SclWarning, SmpMod } from './model.ts';
import { IMPORT_LIMITS, elementPath } from './diagnostics.ts';
import type { Warn } from './diagnostics.ts';
import { attachAddresses } from './address.ts';
import { Templates, childIndex, resolveFcda } from './fcda.ts';
import { substationPhases, toChannelSet } from './channels.ts';
import type { PhaseHints } from './channels.ts';
import { nominalsByIed } from './nominal.ts';

export { IMPORT_LIMITS, elementPath } from './diagnostics.ts';

export interface ImportOptions {
  limits?: Partial<XmlLimits>;
}

/** Reads and imports an SCL file. Throws SclParseError when the file is not readable SCL. */
export function importSclFile(file: string, opts: ImportOptions = {}): SclImport {
  const root = readSclXml(file, { ...DEFAULT_XML_LIMITS, ...opts.limits });
  return importScl(file, root);
}

/** Imports a parsed SCL document (root element <SCL>). */
export function importScl(file: string, root: XmlElement): SclImport {
  const warnings: SclWarning[] = [];
  let dropped = 0;
  const warn: Warn = (code, el, message, path, line) => {
    if (warnings.length >= IMPORT_LIMITS.warnings) {
      dropped++;
      return;
    }
    warnings.push({ code, path: path ?? (el ? elementPath(el) : '/SCL'), line: line ?? (el ? el.line : null), message });
  };

  // Edition from the root's version/revision/release.
  const version = {
    version: root.attrs['version'] ?? null,
    revision: root.attrs['revision'] ?? null,
    release: root.attrs['release'] ?? null,
  };
  let edition: SclEdition | null = null;
  if (version.version === null) edition = '2003';
  else if (version.version === '2007' && version.revision === 'A') edition = '2007A';
  else if (version.version === '2007' && version.revision === 'B' && (version.release === null || version.release === '1'))
    edition = '2007B';
  else if (version.version === '2007' && version.revision === 'B' && version.release === '4') edition = '2007B4';
  if (edition === null) {
    warn(
      'unsupported-edition',
      root,
      `SCL version="${version.version}" revision="${version.revision ?? ''}" release="${version.release ?? ''}" is not one of 2003, 2007A, 2007B, 2007B4; read as 2007B4`,
    );
  }
  const headerEl = kid(root, 'Header');
  const header = {
    id: headerEl?.attrs['id'] ?? null,
    version: headerEl?.attrs['version'] ?? null,
    revision: headerEl?.attrs['revision'] ?? null,
    toolID: headerEl?.attrs['toolID'] ?? null,
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

  attachAddresses(root, streams, warn);

  for (const s of streams) {
    if (!s.address)
      warn(
        'svcb-no-address',
        null,
        `SampledValueControl ${s.key} (smvID ${s.svID}) has no SMV address in Communication: its MAC, APPID and VLAN are unknown`,
        s.path,
        s.line,
      );
  }

  // Cross-stream checks: shared MAC+APPID, duplicate smvID.
  const groups = (keyOf: (s: SclStream) => string | null): SclStream[][] => {
    const m = new Map<string, SclStream[]>();
    for (const s of streams) {
      const k = keyOf(s);
      if (k === null) continue;
      const g = m.get(k);
      if (g) g.push(s);
      else m.set(k, [s]);
    }
    return [...m.values()].filter((g) => g.length > 1);
  };
  for (const g of groups((s) => (s.address?.dstMac && s.address.appId !== null ? `${s.address.dstMac}/${s.address.appId}` : null))) {
    const a = g[0]!.address!;
    warn(
      'shared-mac-appid',
      null,
      `${g.length} control blocks share MAC ${a.dstMac} and APPID ${a.appIdHex}: ${g.map((s) => s.key).join(', ')} (frames can only be told apart by svID)`,
      g[0]!.path,
      a.line,
    );
  }
  for (const g of groups((s) => s.svID)) {
    warn(
      'duplicate-smvid',
      null,
      `${g.length} control blocks have smvID "${g[0]!.svID}": ${g.map((s) => s.key).join(', ')}`,
      g[0]!.path,
      g[0]!.line,
    );
  }

  const acceptList: AcceptEntry[] = streams
    .filter((s) => s.address)
    .map((s) => ({
      svID: s.svID,
      key: s.key,
      dstMac: s.address!.dstMac,
      appId: s.address!.appId,
      vlanId: s.address!.vlanId,
      vlanPriority: s.address!.vlanPriority,
      confRev: s.confRev,
      sourceMacs: [],
    }));

  if (dropped > 0) {
    warnings.push({
      code: 'limit-exceeded',
      path: '/SCL',
      line: null,
      message: `${dropped} more warnings not listed (limit ${IMPORT_LIMITS.warnings})`,
    });
  }
  return { file, edition, version, header, streams, acceptList, warnings, nominals: Object.fromEntries(nominalsByIed(root)) };
}

interface Budget {
  members: number;
  exceeded: boolean;
  /** Datasets already resolved (several control blocks may share one). */
  datasets: Map<XmlElement, DatasetMember[]>;
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
  svcb: XmlElement,
  ied: XmlElement,
  ap: XmlElement,
  ld: XmlElement,
  ln0: XmlElement,
  edition: SclEdition | null,
  templates: Templates,
  phases: PhaseHints,
  budget: Budget,
  warn: Warn,
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
  if (smpRate === null && svcb.attrs['smpRate'] === undefined)
    warn('attribute-invalid', svcb, `SampledValueControl ${key} has no smpRate (required); the rate is not checked against SCL`);
  if (nofASDU === null && svcb.attrs['nofASDU'] === undefined)
    warn('attribute-invalid', svcb, `SampledValueControl ${key} has no nofASDU (required); the ASDU count is not checked against SCL`);
  // smpMod is an Ed2 attribute with default SmpPerPeriod; Ed1 (2003) has no smpMod and smpRate is per period.
  let smpMod: SmpMod = 'SmpPerPeriod';
  const smpModAttr = svcb.attrs['smpMod'];
  if (smpModAttr !== undefined) {
    if (smpModAttr === 'SmpPerPeriod' || smpModAttr === 'SmpPerSec' || smpModAttr === 'SecPerSmp') smpMod = smpModAttr;
    else warn('attribute-invalid', svcb, `smpMod="${smpModAttr}" is not SmpPerPeriod, SmpPerSec or SecPerSmp; SmpPerPeriod assumed`);
    if (edition === '2003')
      warn(
        'attribute-not-in-edition',
        svcb,
        `smpMod is not an attribute of SCL 2003 (smpRate is per period there); "${smpModAttr}" is used as written`,
      );
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
      if (!budget.exceeded)
        warn(
          'limit-exceeded',
          ds,
          `more than ${IMPORT_LIMITS.totalMembers} dataset members in the file; this and further datasets are not resolved`,
        );
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
    key,
    iedName,
    apName: ap.attrs['name'] ?? '',
    ldInst,
    ln: 'LLN0',
    cbName,
    svID: smvID,
    datSet,
    datSetRef: datSet ? `${ld.attrs['ldName'] ?? iedName + ldInst}/LLN0$${datSet}` : null,
    dataset,
    confRev,
    smpRate,
    smpMod,
    smpModCode: SMP_MOD_CODE[smpMod],
    smpModDefaulted: smpModAttr === undefined,
    nofASDU,
    multicast: parseBool(svcb.attrs['multicast'], true),
    securityEnabled,
    smvOpts,
    address: null,
    channelSet,
    line: svcb.line,
    path,
  };
}

/** Samples per second of a stream for the nominal frequency (smpMod decides what smpRate counts). */
export function samplesPerSecond(s: Pick<SclStream, 'smpRate' | 'smpMod'>, nominalHz: number): number | null {
  if (s.smpRate === null || s.smpRate === 0) return null;
  if (s.smpMod === 'SmpPerPeriod') return s.smpRate * nominalHz;
  if (s.smpMod === 'SmpPerSec') return s.smpRate;
  return 1 / s.smpRate;
}
