/** Node-RED entry of the sip-events node. */
import { registerEvents } from './events-node';

export = registerEvents;
