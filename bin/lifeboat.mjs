#!/usr/bin/env node
// The `lifeboat` operator CLI (package.json "bin"). Loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
globalThis.process.exit(await main(globalThis.process.argv.slice(2)));
