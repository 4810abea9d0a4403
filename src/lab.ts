/** The lab that `sip-locate lab` runs: the demo zone, its DNS server and sockets (lab-zone.ts), and the SIP endpoints (lab-sip.ts). */
export * from './lab-zone';
export * from './lab-sip';
