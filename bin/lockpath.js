#!/usr/bin/env node
// Thin launcher so `npx lockpath` runs the bundled CLI that `npm ci` builds (the prepare script).
require('../dist/cli.js').run();
