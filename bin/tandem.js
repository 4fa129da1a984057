#!/usr/bin/env node
// The tandem CLI, run from its TypeScript sources.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../controller/cli/main.ts');
process.exitCode = await main(process.argv);
