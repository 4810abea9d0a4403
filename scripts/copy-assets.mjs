#!/usr/bin/env node
// Copies the editor side (nodes/*.html, nodes/locales, nodes/icons) next to the compiled
// runtime files in dist/nodes, where Node-RED looks for them.
import { cpSync, existsSync, mkdirSync, chmodSync } from 'node:fs';
const root = new URL('..', import.meta.url).pathname;
mkdirSync(root + 'dist/nodes', { recursive: true });
if (existsSync(root + 'nodes')) cpSync(root + 'nodes', root + 'dist/nodes', { recursive: true });
if (existsSync(root + 'dist/cli.js')) chmodSync(root + 'dist/cli.js', 0o755);
