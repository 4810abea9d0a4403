// npm start, first step: checks the demo's ports before the build, so that a taken port is reported in a second,
// not after a compile. Imports nothing from dist/.
import { demoPorts, demoWanted, firstTakenPort, portTakenSentence } from './ports.mjs';
import { redisInstalled } from './redis.mjs';

const taken = await firstTakenPort(demoWanted(demoPorts(), redisInstalled()));
if (taken) {
  console.error(portTakenSentence(taken));
  process.exit(1);
}
