// γMAC (SPEC §2 step 4): the source MAC must be in the stream's accept list; frames of streams nobody
// configured are flagged too. Either way the frame is discarded from further analysis.
import type { FrameContext, Flag, Stage } from '../stage.ts';

export class MacStage implements Stage {
  readonly name = 'mac';

  onFrame(ctx: FrameContext, flag: Flag): boolean {
    const s = ctx.stream;
    if (s === undefined) {
      flag('mac', 'unknown-stream', { discard: true, detail: { appId: ctx.cols.appId[ctx.i]! } });
      return false;
    }
    if (s.accepted.size > 0 && !s.accepted.has(ctx.srcKey)) {
      flag('mac', 'unknown-source', { discard: true, detail: { src: ctx.batch.src(ctx.i) } });
      return false;
    }
    return true;
  }
}
