// Node-RED settings for the demo (npm start) and the tests that run a real Node-RED.
const path = require('node:path');

module.exports = {
  uiHost: process.env.SIP_LOCATE_UI_HOST || '127.0.0.1',
  uiPort: Number(process.env.PORT || 1880),
  flowFile: 'flows.json',
  credentialSecret: false,
  // SIP_LOCATE_FROM_USERDIR: the package is installed in the user directory (the tarball test), not loaded from here.
  ...(process.env.SIP_LOCATE_FROM_USERDIR ? {} : { nodesDir: [path.join(__dirname, '..')] }),
  logging: { console: { level: process.env.SIP_LOCATE_LOG_LEVEL || 'info', metrics: false, audit: false } },
  editorTheme: { tours: false, projects: { enabled: false } },
  contextStorage: { default: { module: 'memory' }, file: { module: 'localfilesystem' } },
  diagnostics: { enabled: false },
  // Marks every admin response with the token its launcher chose (demo/node-red.mjs), so that the launcher knows
  // the Node-RED answering on the port is the one it started and not another one.
  httpAdminMiddleware: (req, res, next) => {
    if (process.env.SIP_LOCATE_RUN_TOKEN) res.setHeader('X-Sip-Locate-Run', process.env.SIP_LOCATE_RUN_TOKEN);
    next();
  },
  telemetry: { enabled: false },
  // Load measurements only (node --expose-gc): lets a function node collect garbage before reading the heap.
  ...(process.env.SIP_LOCATE_EXPOSE_GC
    ? {
        functionGlobalContext: {
          sipLocateGc: global.gc,
          sipLocateMemory: () => process.memoryUsage(),
          sipLocateHeapSnapshot: (file) => require('node:v8').writeHeapSnapshot(file),
        },
      }
    : {}),
  ...(process.env.SIP_LOCATE_ADMIN_AUTH ? { adminAuth: JSON.parse(process.env.SIP_LOCATE_ADMIN_AUTH) } : {}),
  // The editor and admin API under their own path (e.g. /admin), so that http-in endpoints skip their middleware.
  ...(process.env.SIP_LOCATE_HTTP_ADMIN_ROOT ? { httpAdminRoot: process.env.SIP_LOCATE_HTTP_ADMIN_ROOT } : {}),
  // No httpNodeAuth: each wrong password would cost a bcrypt round. Example 06's guard checks a SIP proxy's lookups
  // (SIP_LOCATE_ROUTE_ALLOW, SIP_LOCATE_ROUTE_SECRET; docs/proxies.md, "Secure deployment").
};
