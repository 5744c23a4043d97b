// The local panel (SPEC §1): a page for the cabinet screen, served by the appliance's API server.
export { loadPanelAssets, PANEL_CSP, PANEL_DIR, panelPlugin, type PanelOptions } from './plugin.ts';
