// The stream table SCL import produces: one entry per SampledValueControl, with its address from
// Communication/SMV, its dataset resolved to leaf types and scaling, and a ChannelSet for the simulator and
// detection. Also the JSON shape of `svde scl`.
import type { ChannelSet } from '../model/channels.ts';
import type { SclNominal } from './nominal.ts';

export type SclEdition = '2003' | '2007A' | '2007B' | '2007B4';

export type SmpMod = 'SmpPerPeriod' | 'SmpPerSec' | 'SecPerSmp';
/** The smpMod value carried in the ASDU (IEC 61850-9-2 Ed2): 0 samples per period, 1 per second, 2 seconds per sample. */
export const SMP_MOD_CODE: Record<SmpMod, number> = { SmpPerPeriod: 0, SmpPerSec: 1, SecPerSmp: 2 };

export type WarningCode =
  | 'unsupported-edition'
  | 'smv-address-dangling'
  | 'svcb-no-address'
  | 'address-duplicate'
  | 'address-invalid'
  | 'shared-mac-appid'
  | 'duplicate-smvid'
  | 'mac-out-of-range'
  | 'appid-out-of-range'
  | 'dataset-missing'
  | 'dataset-empty'
  | 'fcda-unresolved'
  | 'channels-unmapped'
  | 'svcb-invalid'
  | 'attribute-invalid'
  | 'attribute-not-in-edition'
  | 'limit-exceeded';

export interface SclWarning {
  code: WarningCode;
  /** XPath-like location in the file, e.g. /SCL/IED[@name='MU1']/…/SampledValueControl[@name='MSVCB01']. */
  path: string;
  /** 1-based line of the element, where known. */
  line: number | null;
  message: string;
}

/** One leaf of a dataset member after resolution through DataTypeTemplates. */
export interface DatasetLeaf {
  /** e.g. "MU01/TCTR1.AmpSv.instMag.i" (LD/prefix+lnClass+lnInst.DO.DA). */
  ref: string;
  fc: string;
  /** Basic type from the templates: INT32, Quality, FLOAT32, Timestamp, … */
  bType: string;
  /** Physical value = raw * scale + offset, for INT32 measured values of TCTR/TVTR (sVC or 9-2LE convention). */
  scale?: number;
  offset?: number;
  /** Where scale/offset came from: the instance (DAI), the type (DataTypeTemplates Val), or the 9-2LE convention. */
  scaleSource?: 'instance' | 'template' | '9-2LE';
}

export interface DatasetMember {
  /** The FCDA as written: ldInst/prefix lnClass lnInst . doName . daName [fc]. */
  fcda: string;
  ldInst: string;
  prefix: string;
  lnClass: string;
  lnInst: string;
  doName: string;
  daName: string | null;
  fc: string;
  line: number | null;
  /** Leaves in seqData order; empty when the FCDA could not be resolved (a warning says why). */
  leaves: DatasetLeaf[];
  resolved: boolean;
}

export interface StreamAddress {
  subNetwork: string;
  /** The ConnectedAP the address hangs under. */
  connectedAP: { iedName: string; apName: string };
  /** Lower-case, colon-separated, like `svde decode`. */
  dstMac: string | null;
  appId: number | null;
  /** As written (hex digits), for display. */
  appIdHex: string | null;
  vlanId: number | null;
  vlanIdHex: string | null;
  vlanPriority: number | null;
  line: number | null;
}

export interface SclStream {
  /** Stable key: IED/LDinst/LLN0.cbName. */
  key: string;
  iedName: string;
  apName: string;
  ldInst: string;
  ln: string;
  cbName: string;
  /** The SCL smvID; the ASDU's svID. */
  svID: string;
  datSet: string | null;
  /** The datSet ObjectReference an ASDU carries: LDName/LLN0$DataSet, LDName = LDevice ldName or IED name + LD inst. */
  datSetRef: string | null;
  dataset: DatasetMember[] | null;
  confRev: number | null;
  smpRate: number | null;
  smpMod: SmpMod;
  /** The smpMod code the ASDU would carry (0/1/2). */
  smpModCode: number;
  /** Whether smpMod was written or is the edition's default. */
  smpModDefaulted: boolean;
  nofASDU: number | null;
  multicast: boolean;
  /** securityEnable (Ed2) other than None, or SmvOpts security="true". */
  securityEnabled: boolean;
  smvOpts: Record<string, boolean>;
  address: StreamAddress | null;
  /** Value/quality pairs of current/voltage channels in seqData order, or null when the dataset is not of that shape. */
  channelSet: ChannelSet | null;
  line: number | null;
  path: string;
}

/** One line of the accept list: what may appear on the wire for a stream (source MACs come from configuration). */
export interface AcceptEntry {
  svID: string;
  key: string;
  dstMac: string | null;
  appId: number | null;
  vlanId: number | null;
  vlanPriority: number | null;
  confRev: number | null;
  /** From the configuration file (or learn mode); SCL does not hold source MACs. */
  sourceMacs: string[];
}

export interface SclImport {
  file: string;
  edition: SclEdition | null;
  /** The SCL root's version/revision/release as written. */
  version: { version: string | null; revision: string | null; release: string | null };
  header: { id: string | null; version: string | null; revision: string | null; toolID: string | null };
  streams: SclStream[];
  acceptList: AcceptEntry[];
  warnings: SclWarning[];
  /** Nominal values the file states, per IED name (src/scl/nominal.ts). */
  nominals: Record<string, SclNominal>;
}
