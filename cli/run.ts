#!/usr/bin/env node
// The compiled CLI's entry (scripts/build-cli.ts bundles it to dist/cli/lifeboat.mjs; bin/lifeboat.mjs runs that).
import { main } from './main.ts';

process.exit(await main(process.argv.slice(2)));
