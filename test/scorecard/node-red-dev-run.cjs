// Runs node-red-dev's own package and node checks (P01-P08, N01, N02) on the project, offline: its two web
// look-ups get pinned answers (the catalogue with no module, the npm document of node-red as published for
// 5.0.7), so that what is checked is this package. Prints the scorecard as one JSON line and exits.
// Usage: node test/scorecard/node-red-dev-run.cjs <package dir>
const path = require('node:path');

const libs = path.join(path.dirname(require.resolve('node-red-dev/package.json')), 'src', 'libs');
const axiosPath = require.resolve('axios', { paths: [libs] });
/** The documents node-red-dev asks the web for, pinned (the catalogue: no other module). */
const PINNED = {
  'https://catalogue.nodered.org/catalogue.json': { modules: [] },
  'https://registry.npmjs.org/node-red': {
    'dist-tags': { latest: '5.0.7', 'maintenance-v4': '4.1.15' },
    versions: { '5.0.7': { engines: { node: '>=22.9' } }, '4.1.15': { engines: { node: '>=18.5' } } },
  },
};
require.cache[axiosPath] = {
  id: axiosPath,
  filename: axiosPath,
  loaded: true,
  exports: {
    get: (url) =>
      url in PINNED
        ? Promise.resolve({ data: PINNED[url] })
        : Promise.reject(new Error(`offline: no pinned answer for ${url}`)),
  },
};
const checkpackage = require(path.join(libs, 'checkpackage.js'));
const checknodes = require(path.join(libs, 'checknodes.js'));

const dir = path.resolve(process.argv[2] ?? '.');
const warnings = [];
const cli = {
  log: () => undefined,
  warn: (m) => warnings.push(String(m)),
  error: (e) => {
    throw e instanceof Error ? e : new Error(String(e));
  },
};
(async () => {
  const scorecard = {};
  await checkpackage(dir, cli, scorecard, false);
  await checknodes(dir, cli, scorecard, false);
  process.stdout.write(JSON.stringify({ scorecard, warnings }) + '\n');
  process.exit(0);
})().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
