/** Node-RED entry of the "SIP" sidebar editor plugin: declares the plugin and owns its admin endpoints. */
import type { NodeAPI } from 'node-red';
import { registerSidebarAdmin } from './sidebar-feed';

/** Declares the plugin and registers its endpoints; the editor side (sip-sidebar.html) adds the sidebar tab. */
function registerSidebar(RED: NodeAPI): void {
  RED.plugins?.registerPlugin('sip-locate-sidebar', { type: 'sip-locate-sidebar' });
  registerSidebarAdmin(RED);
}

export = registerSidebar;
