#!/usr/bin/env node
// Per-node agent (torchrun's role): node bin/ssl-agent.js --nproc-per-node G -- <worker args>
import { runAgent } from '../lib/launchers/local/agent.js';

process.exit(await runAgent(process.argv.slice(2)));
