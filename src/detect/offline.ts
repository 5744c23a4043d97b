// The grade 1–3 stage set of offline detection, built in one place for `svde analyze`, the detection
// evaluation script and the scenario tests: rate, MAC, signature (when streams are signed), logic,
// attackMatch, then per cycle faultMatch, trip (50/51/59, judged by faultMatch) and badData.
// (Grade 4, the upstream check, needs a master station: only `svde run` has one.)
import { PhasorStage } from './cycles.ts';
import type { FaultLibrary } from './history/library.ts';
import type { Stage } from './stage.ts';
import { AttackMatchStage } from './stages/attack-match.ts';
import { BadDataStage, type BadDataStageOptions } from './stages/bad-data.ts';
import { FaultMatchStage } from './stages/fault-match.ts';
import { LogicStage } from './stages/logic.ts';
import { MacStage } from './stages/mac.ts';
import { RateStage, type RateOptions } from './stages/rate.ts';
import { SignatureStage } from './stages/signature.ts';
import { type SignatureVerifier, type SignedStream } from '../model/signature.ts';
import { TripStage } from './stages/trip.ts';
import type { StreamRegistry } from './streams.ts';

export interface OfflineStageOptions {
  rate?: RateOptions;
  badData?: BadDataStageOptions;
  /** Signed streams and the verifier of their signatures; no signature stage without any. */
  signed?: readonly SignedStream[];
  verifier?: SignatureVerifier;
  /** The fault/attack library faultMatch judges events against (default: the built-in seed library). */
  library?: FaultLibrary;
  /** Leave a stage out (cost measurements): badData, or the history stages faultMatch + attackMatch. */
  without?: 'badData' | 'history';
}

export interface OfflineStages {
  /** In pipeline order. */
  stages: Stage[];
  /** Present when streams are signed: drain() it before Pipeline.finish(). */
  signature?: SignatureStage;
  attackMatch?: AttackMatchStage;
  faultMatch?: FaultMatchStage;
}

export function offlineStages(registry: StreamRegistry, opts: OfflineStageOptions = {}): OfflineStages {
  const out: OfflineStages = { stages: [new RateStage(registry, opts.rate ?? {}), new MacStage()] };
  if (opts.signed !== undefined && opts.signed.length > 0) {
    if (opts.verifier === undefined) throw new Error('signed streams need a signature verifier');
    out.signature = new SignatureStage(registry, opts.signed, opts.verifier);
    out.stages.push(out.signature);
  }
  const badData = opts.without === 'badData' ? [] : [new BadDataStage(registry, opts.badData ?? {})];
  if (opts.without === 'history') {
    out.stages.push(new LogicStage(registry), new PhasorStage(registry, [new TripStage(registry), ...badData]));
    return out;
  }
  out.attackMatch = new AttackMatchStage(registry);
  out.faultMatch = new FaultMatchStage(registry, { attack: out.attackMatch, ...(opts.library !== undefined ? { library: opts.library } : {}) });
  out.stages.push(new LogicStage(registry), out.attackMatch, new PhasorStage(registry, [out.faultMatch, new TripStage(registry, { judge: out.faultMatch }), ...badData]));
  return out;
}
