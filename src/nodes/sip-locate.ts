/** Node-RED entry of the sip-locate node. */
import { registerLocate } from './locate-node';

export = registerLocate;
