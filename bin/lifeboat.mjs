#!/usr/bin/env node
// The `lifeboat` operator CLI (package.json "bin"). Runs the compiled CLI in dist/cli/, which
// `npm run build` makes (scripts/build-cli.ts; `npm ci` and `npm install` run it as `prepare`).
// No TypeScript loader at run time. build.json is written last: without it there is no build.
import { readFileSync, statSync } from 'node:fs';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

const dist = new URL('../dist/cli/', import.meta.url);
const repo = fileURLToPath(new URL('..', import.meta.url));
const say = (line) => void process.stderr.write(`lifeboat: ${line}\n`);

let info;
let builtAt;
try {
  info = JSON.parse(readFileSync(new URL('build.json', dist), 'utf8'));
  builtAt = statSync(new URL('build.json', dist)).mtimeMs;
} catch {
  say(`the compiled CLI is missing (${fileURLToPath(dist)}): run \`npm run build\` in ${repo} (npm ci and npm install run it)`);
  process.exit(5); // EXIT.unavailable: something needed is missing
}
// A source changed since the build (an edit, a git pull without npm ci): say so, run the build there is.
const newer = info.inputs.find((file) => (statSync(new URL(file, dist), { throwIfNoEntry: false })?.mtimeMs ?? 0) > builtAt);
if (newer !== undefined) say(`the compiled CLI is older than ${fileURLToPath(new URL(newer, dist))}: \`npm run build\` compiles the change`);

await import(new URL('lifeboat.mjs', dist).href);
