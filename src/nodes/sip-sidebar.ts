/** Node-RED entry of the "SIP" sidebar editor plugin (its admin endpoints are registered with the sip-resolver node). */
import type { NodeAPI } from 'node-red';

/** Declares the plugin; the editor side (sip-sidebar.html) adds the sidebar tab. */
function registerSidebar(RED: NodeAPI): void {
  RED.plugins?.registerPlugin('sip-locate-sidebar', { type: 'sip-locate-sidebar' });
}

export = registerSidebar;
