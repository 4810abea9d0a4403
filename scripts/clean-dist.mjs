#!/usr/bin/env node
// Empties dist/ before packing, so that the tarball holds only what this build wrote (no stale files from older builds).
import { rmSync } from 'node:fs';
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
