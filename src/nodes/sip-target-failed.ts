/** Node-RED entry of the sip-target-failed node. */
import { registerTargetFailed } from './target-failed-node';

export = registerTargetFailed;
