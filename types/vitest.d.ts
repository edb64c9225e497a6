/* eslint-disable @typescript-eslint/no-empty-object-type */
import 'vitest';
import type { CustomMatcher } from 'aws-sdk-client-mock-vitest';

// aws-sdk-client-mock matchers (registered in test/support/setup-aws-mock.ts).
declare module 'vitest' {
  interface Assertion<R, T> extends CustomMatcher<R, T> {}
  interface AsymmetricMatchersContaining extends CustomMatcher<unknown, unknown> {}
}
