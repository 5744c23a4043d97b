// The front-panel LEDs and alarm relay (SPEC §1, §6): the module's public face.
export { LedDriver, ledLinesOf, type LedLines, type LedOptions } from './driver.ts';
export { framesOf, isDegraded, ledPatternOf, relayClosedOf, type FrameOptions, type LedFrame, type LedStatus } from './pattern.ts';
