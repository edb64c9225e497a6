// @aws-sdk/client-s3, required when first evaluated: the bundles alias the package here (lib/lifeboat-function.ts, LAZY_SDK).
// A computed name keeps esbuild from resolving it: it stays a require() of the runtime's SDK.
// eslint-disable-next-line @typescript-eslint/no-require-imports
module.exports = require(['@aws-sdk', 'client-s3'].join('/')) as unknown;
