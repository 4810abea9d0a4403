/** Node-RED entry of the sip-resolver config node. */
import { registerResolver } from './resolver-node';

export = registerResolver;
