#!/usr/bin/env node
// The `trainyard` command: the bundled CLI (npm run build writes it).
import '../dist/trainyard.mjs';
