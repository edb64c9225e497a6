/**
 * The `lifeboat` package: the {@link Lifeboat} construct for any CDK app, and its props.
 * The Lifeboat app itself (bin/app.ts) is a consumer of the same construct.
 */
export { Lifeboat } from './lifeboat.ts';
export type * from './lifeboat-props.ts';
