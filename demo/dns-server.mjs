// The demo zone and its DNS server live in the package (src/lab.ts, shipped as dist/lab.js, run by `sip-locate lab`);
// the demo and the tests take them from there. Needs `npm run build`.
export { demoZone, startZoneServer } from '../dist/lab.js';
