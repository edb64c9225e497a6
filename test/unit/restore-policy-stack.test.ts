import { templateApp } from '#root/lib/app-context.ts';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { LifeboatStack, type LifeboatConfig } from '#root/lib/lifeboat-stack.ts';
import { RestorePolicy } from '#core/policy.ts';

const synth = (config: LifeboatConfig): Template => {
  const app = templateApp();
  return Template.fromStack(new LifeboatStack(app, 'Policy', { config }));
};

/** Every function's LIFEBOAT_POLICY, parsed. */
const policies = (template: Template): RestorePolicy[] =>
  Object.values(template.findResources('AWS::Lambda::Function'))
    .map((f) => (f as { Properties: { Environment?: { Variables?: Record<string, string> } } }).Properties.Environment?.Variables?.LIFEBOAT_POLICY)
    .filter((p): p is string => p !== undefined)
    .map((p) => RestorePolicy.parse(JSON.parse(p)));

const config: LifeboatConfig = {
  allowedImages: ['postgres', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/db/'],
  protect: [
    {
      source: 'shop',
      volume: 'pgdata',
      drillHost: { instanceId: 'i-0123456789abcdef0' },
      rpoMinutes: 60,
      containerImage: 'postgres:16',
      volumeDriverOpts: { type: 'nfs', o: 'addr=10.0.0.5,rw', device: ':/exports/pg' },
      verify: { engine: 'postgres', check: 'select count(*) from orders', expectMinimum: 1 },
    },
  ],
  slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] },
};

describe('the restore policy in the stack', () => {
  it('the allowlist and each protected volume’s image, driver and verify settings reach every function that plans restores', () => {
    const found = policies(synth(config));
    // The restore API, the drill function, both Slack functions and the recovery tasks function.
    expect(found).toHaveLength(5);
    for (const p of found) {
      expect(p.allowedImages).toEqual(config.allowedImages);
      expect(p.volumes).toEqual([
        {
          source: 'shop',
          volume: 'pgdata',
          containerImage: 'postgres:16',
          volumeDriverOpts: { type: 'nfs', o: 'addr=10.0.0.5,rw', device: ':/exports/pg' },
          verify: { engine: 'postgres', check: 'select count(*) from orders', expectMinimum: 1 },
        },
      ]);
    }
  });

  it.each([
    [{ allowedImages: ['Not An Image!'] }, 'lifeboat.allowedImages'],
    [
      {
        protect: [
          {
            source: 'shop',
            volume: 'pgdata',
            drillHost: { instanceId: 'i-0123456789abcdef0' },
            rpoMinutes: 60,
            volumeDriverOpts: { type: 'ext4', device: '/dev/xvdf' },
          },
        ],
      },
      'volumeDriverOpts',
    ],
  ] as [LifeboatConfig, string][])('a configuration that would let restores mount a disk or run any image fails synth naming the field (%j)', (bad, field) => {
    expect(() => synth(bad)).toThrow(field);
  });
});
