// Inverse-time curve names of the protection settings (IEC 60255-151 and IEEE C37.112), shared by the
// configuration schema and the trip stage.
export const CURVES = ['IEC-SI', 'IEC-VI', 'IEC-EI', 'IEC-LTI', 'IEEE-MI', 'IEEE-VI', 'IEEE-EI', 'DT'] as const;
export type Curve = (typeof CURVES)[number];
