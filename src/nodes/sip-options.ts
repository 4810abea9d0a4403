/** Node-RED entry of the sip-options node. */
import { registerOptions } from './options-node';

export = registerOptions;
