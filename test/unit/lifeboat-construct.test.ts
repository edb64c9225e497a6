import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { Lifeboat } from '#root/lib/index.ts';
import type { LifeboatProps } from '#root/lib/index.ts';
import { LifeboatStack } from '#root/lib/lifeboat-stack.ts';

// The construct's props are checked before anything is created: these need no synth.
const embed = (props: unknown): Lifeboat => new Lifeboat(new Stack(new App(), 'Platform'), 'Dr', props as LifeboatProps);
const DRILL_HOST = { instanceId: 'i-0123456789abcdef0' };

describe('Lifeboat props, checked at synth', () => {
  it('an invalid prop names the construct, the prop’s path and what it allows', () => {
    expect(() => embed({ protect: [{ source: 'db1', volume: 'pgdata', drillHost: DRILL_HOST, rpoMinutes: 0 }] })).toThrow(
      'invalid Lifeboat props (Platform/Dr): protect.0.rpoMinutes: must be at least 1 minute',
    );
  });

  it('a misspelt prop from JavaScript is refused by name, not ignored', () => {
    expect(() => embed({ protects: [] })).toThrow('invalid Lifeboat props (Platform/Dr): Unrecognized key: "protects"');
  });

  it('role is primary or replica', () => {
    expect(() => embed({ role: 'dr' })).toThrow('invalid Lifeboat props (Platform/Dr): role: must be "primary" or "replica", got "dr"');
  });

  it('the app’s stack still names its cdk.json context key', () => {
    expect(() => new LifeboatStack(new App(), 'Lifeboat', { config: { archivePrefix: 'Bad Prefix' } })).toThrow(
      /^invalid lifeboat configuration: lifeboat\.archivePrefix: /,
    );
  });
});
