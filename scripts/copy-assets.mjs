#!/usr/bin/env node
// Copies the editor side (nodes/*.html, nodes/locales, nodes/icons) next to the compiled
// runtime files in dist/nodes, where Node-RED looks for them, and writes the sip-resolver's
// defaults and bounds (from the options tables, via the compiled resolver-config.js) into its editor HTML.
import { cpSync, existsSync, mkdirSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const root = new URL('..', import.meta.url).pathname;
mkdirSync(root + 'dist/nodes', { recursive: true });
if (existsSync(root + 'nodes')) cpSync(root + 'nodes', root + 'dist/nodes', { recursive: true });
if (existsSync(root + 'dist/cli.js')) chmodSync(root + 'dist/cli.js', 0o755);

const PLACEHOLDER = '/*@sip-resolver-defaults@*/null';
const html = root + 'dist/nodes/sip-resolver.html';
const { editorDefaults } = createRequire(import.meta.url)(root + 'dist/nodes/resolver-config.js');
const text = readFileSync(html, 'utf8');
if (!text.includes(PLACEHOLDER)) throw new Error(`${html} has no ${PLACEHOLDER} to fill with the defaults`);
// JSON of numbers, booleans and fixed option names: nothing in it can end the <script> element.
writeFileSync(
  html,
  text.replace(PLACEHOLDER, () => JSON.stringify(editorDefaults())),
);
