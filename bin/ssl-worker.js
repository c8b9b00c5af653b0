#!/usr/bin/env node
// The worker process every launcher starts: node bin/ssl-worker.js --config CFG --work-dir DIR [...]
import { runWorker } from '../lib/src/runner/worker-main.js';

const code = await runWorker(process.argv.slice(2));
process.exit(code);
