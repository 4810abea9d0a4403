// The demo SIP endpoints live in the package (src/lab.ts, shipped as dist/lab.js, run by `sip-locate lab`);
// the demo and the tests take them from there. Needs `npm run build`.
export {
  startEndpoint,
  LAB_ENDPOINTS as DEMO_ENDPOINTS,
  startLabEndpoints as startDemoEndpoints,
} from '../dist/lab.js';
