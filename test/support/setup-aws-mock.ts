import { expect } from 'vitest';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';

// aws-sdk-client-mock matchers, registered once for every suite.
expect.extend(allCustomMatcher);
