/**
 * What a deploying user gets from the stack: the helper image (built, published, pinned by
 * digest), the host and operator policies, named documents, scheduled backups that alarm when
 * they fail, the outputs, an existing bucket's EventBridge notifications, and cdk.json's flags.
 */
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { cdkJsonContext, templateApp } from '#root/lib/app-context.ts';
import { BACKUP_OUTPUT_PREFIX, backupOutputPrefixOf } from '#root/lib/backups.ts';
import { HOST_STATEMENT_REASONS } from '#root/lib/host-policies.ts';
import { LifeboatStack, type LifeboatConfig } from '#root/lib/lifeboat-stack.ts';
import { OPERATOR_STATEMENT_REASONS } from '#root/lib/operator-policies.ts';
import { documentNameFor } from '#root/lib/runbook-documents.ts';
import { DOCUMENTS } from '#core/paths.ts';
import { parseArchiveKey } from '#core/archive-key.ts';
import { associationScheduleProblem } from '#core/protection.ts';
import { loadDocument } from '#core/runbooks/document.ts';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

const HOST = 'i-0123456789abcdef0';
const BILLING_HOST = 'i-0fedcba9876543210';
const ECR_PREFIX = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/db/';
const FULL: LifeboatConfig = {
  allowedImages: ['postgres', ECR_PREFIX],
  protect: [
    {
      source: 'shop',
      volume: 'pgdata',
      drillHost: { tag: { key: 'lifeboat:drill-host', value: 'true' } },
      rpoMinutes: 90,
      backup: { schedule: 'rate(1 hour)', host: { instanceId: HOST }, container: 'shop-db' },
    },
    {
      source: 'billing',
      volume: 'ledger',
      drillHost: { instanceId: HOST },
      rpoMinutes: 1440,
      backup: { schedule: 'cron(30 2 ? * * *)', host: { instanceId: BILLING_HOST } },
    },
    { source: 'legacy', volume: 'data', drillHost: { instanceId: HOST }, rpoMinutes: 1440 },
  ],
  slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'] },
};

function synth(
  config?: LifeboatConfig,
  id = 'Deploy',
): { stack: LifeboatStack; resources: Record<string, Resource>; outputs: Record<string, { Value: unknown }> } {
  const stack = new LifeboatStack(templateApp(), id, { config });
  const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
  return { stack, resources: json.Resources, outputs: json.Outputs };
}
const ofType = (resources: Record<string, Resource>, type: string): [string, Resource][] => Object.entries(resources).filter(([, r]) => r.Type === type);
const statementsOf = (r: Resource | undefined): Statement[] => (r?.Properties.PolicyDocument as { Statement: Statement[] } | undefined)?.Statement ?? [];

describe('with every optional part configured', () => {
  let stack: LifeboatStack;
  let resources: Record<string, Resource>;
  let outputs: Record<string, { Value: unknown }>;
  beforeAll(() => {
    ({ stack, resources, outputs } = synth(FULL));
  });
  const managedPolicies = (): [string, Resource][] => ofType(resources, 'AWS::IAM::ManagedPolicy');
  const hostPolicy = (source: string): Resource | undefined =>
    managedPolicies().find(([, p]) => String(p.Properties.Description).includes(`source ${source}:`))?.[1];

  it('cdk-nag AwsSolutions has no unacknowledged findings', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  describe('the helper image', () => {
    it('is built from images/helper by cdk deploy and handed out as <repository>@sha256:<digest>, read from ECR after publishing', () => {
      expect(stack.helper.asset).toBeDefined();
      const [, lookup] = ofType(resources, 'Custom::LifeboatHelperImageDigest')[0] ?? [];
      const call = JSON.stringify(lookup?.Properties.Update);
      expect(call).toContain('\\"action\\":\\"describeImages\\"');
      // The tag is the asset hash: a changed Dockerfile changes the call, so the digest is read again.
      expect(call).toContain(`\\"imageTag\\":\\"${stack.helper.asset?.imageTag ?? '-'}\\"`);
      const uri = JSON.stringify(outputs.HelperImageUri?.Value);
      expect(uri).toContain('"@",{"Fn::GetAtt":[');
      expect(uri).toContain('"imageDetails.0.imageDigest"]');
    });

    it('the documents and every function that sends a document receive that pinned URI', () => {
      const pinned = JSON.stringify(outputs.HelperImageUri?.Value);
      const envs = ofType(resources, 'AWS::Lambda::Function')
        .map(([, f]) => (f.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.HELPER_IMAGE)
        .filter((v) => v !== undefined);
      expect(envs.length).toBeGreaterThanOrEqual(4); // API, drill, Slack function and worker
      for (const v of envs) expect(JSON.stringify(v)).toBe(pinned);
      for (const [, a] of ofType(resources, 'AWS::SSM::Association')) {
        expect(JSON.stringify((a.Properties.Parameters as Record<string, unknown[]>).HelperImage?.[0])).toBe(pinned);
      }
    });

    it('the digest lookup may only describe images of the asset repository, and writes only its own log group', () => {
      const lookupRole = stack.getLogicalId(stack.helper.node.findChild('DigestLookupRole').node.defaultChild as never);
      const statements = ofType(resources, 'AWS::IAM::Policy')
        .filter(([, p]) => JSON.stringify(p.Properties.Roles ?? null).includes(lookupRole))
        .flatMap(([, p]) => statementsOf(p));
      expect(statements.flatMap((s) => list(s.Action)).sort()).toEqual(['ecr:DescribeImages', 'logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(JSON.stringify(statements.find((s) => list(s.Action).includes('ecr:DescribeImages'))?.Resource)).toContain('container-assets');
    });
  });

  describe('host policies', () => {
    it('every statement has a Sid with a recorded reason', () => {
      const sids = managedPolicies()
        .filter(([, p]) => String(p.Properties.Description).includes('a host of source'))
        .flatMap(([, p]) => statementsOf(p).map((s) => s.Sid));
      expect(sids.length).toBeGreaterThan(0);
      for (const sid of sids) expect(HOST_STATEMENT_REASONS[sid as keyof typeof HOST_STATEMENT_REASONS], `${String(sid)} has no reason`).toMatch(/^.{40,}$/);
    });

    it('a host may write its own prefix, its command output, and pull the helper and the allowed ECR images; nothing else', () => {
      const statements = statementsOf(hostPolicy('shop'));
      const bySid: Record<string, Statement | undefined> = Object.fromEntries(statements.map((s) => [s.Sid ?? '', s]));
      expect(Object.keys(bySid).sort()).toEqual([
        'CommandOutputFindGroup',
        'CommandOutputStreams',
        'EcrLogin',
        'FindOutputBucketEncryption',
        'PullDatabaseImages',
        'PullHelperImage',
        'WriteOwnArchives',
        'WriteOwnBackupOutput',
      ]);
      const actions = (sid: string): string[] => list(bySid[sid]?.Action ?? []).sort();
      expect(actions('WriteOwnArchives')).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:PutObject']);
      expect(JSON.stringify(bySid.WriteOwnArchives?.Resource)).toContain('"/archives/shop/*"');
      // Its scheduled backups' output: PutObject on its own output prefix, and the bucket's encryption setting (the agent checks it).
      expect(actions('WriteOwnBackupOutput')).toEqual(['s3:PutObject']);
      expect(JSON.stringify(bySid.WriteOwnBackupOutput?.Resource)).toContain('"/lifeboat-output/backups/shop/*"');
      expect(actions('FindOutputBucketEncryption')).toEqual(['s3:GetEncryptionConfiguration']);
      expect(bySid.FindOutputBucketEncryption?.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Archives/) as unknown, 'Arn'] });
      expect(actions('CommandOutputStreams')).toEqual(['logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents']);
      expect(bySid.CommandOutputStreams?.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^CommandOutput/) as unknown, 'Arn'] });
      expect(actions('CommandOutputFindGroup')).toEqual(['logs:DescribeLogGroups']);
      expect(actions('EcrLogin')).toEqual(['ecr:GetAuthorizationToken']);
      expect(bySid.EcrLogin?.Resource).toBe('*');
      for (const sid of ['PullHelperImage', 'PullDatabaseImages'])
        expect(actions(sid)).toEqual(['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']);
      expect(JSON.stringify(bySid.PullHelperImage?.Resource)).toContain('cdk-hnb659fds-container-assets-');
      // The ECR prefix of allowedImages, as its repositories; "postgres" (Docker Hub) needs no grant.
      expect(JSON.stringify(bySid.PullDatabaseImages?.Resource)).toContain(':ecr:eu-west-1:123456789012:repository/db/*');
      // "*" only where AWS has no resource: the ECR login.
      for (const s of statements) if (JSON.stringify(s.Resource) === '"*"') expect(list(s.Action)).toEqual(['ecr:GetAuthorizationToken']);
      for (const s of statements) expect(s.Effect).toBe('Allow');
    });

    it('one per source (protected and backupSources), each an output HostPolicy<source>', () => {
      expect(
        Object.keys(outputs)
          .filter((k) => k.startsWith('HostPolicy'))
          .sort(),
      ).toEqual(['HostPolicybilling', 'HostPolicylegacy', 'HostPolicyshop']);
    });

    it('a source without a scheduled backup may not write any backup output', () => {
      const sids = statementsOf(hostPolicy('legacy')).map((s) => s.Sid);
      expect(sids).toContain('WriteOwnArchives');
      expect(sids).not.toContain('WriteOwnBackupOutput');
      expect(sids).not.toContain('FindOutputBucketEncryption');
    });

    it('the helper pull says honestly that the bootstrap repository holds every CDK app’s images, and how to narrow it', () => {
      expect(HOST_STATEMENT_REASONS.PullHelperImage).not.toMatch(/this repository only/);
      expect(HOST_STATEMENT_REASONS.PullHelperImage).toMatch(/container-assets repository, which holds the images of every CDK app/);
      expect(HOST_STATEMENT_REASONS.PullHelperImage).toMatch(/helperImage/);
    });

    it('restore-only hosts (lifeboat:sources=*) get HostRestorePolicy: command output and ECR pulls, no S3 action at all', () => {
      const restore = managedPolicies().find(([, p]) => String(p.Properties.Description).includes('restore-only host'))?.[1];
      const statements = statementsOf(restore);
      expect(statements.map((s) => s.Sid).sort()).toEqual([
        'CommandOutputFindGroup',
        'CommandOutputStreams',
        'EcrLogin',
        'PullDatabaseImages',
        'PullHelperImage',
      ]);
      for (const s of statements) {
        expect(HOST_STATEMENT_REASONS[s.Sid as keyof typeof HOST_STATEMENT_REASONS]).toMatch(/^.{40,}$/);
        expect(list(s.Action).filter((a) => a.startsWith('s3:'))).toEqual([]);
        expect(s.Effect).toBe('Allow');
      }
      expect(outputs.HostRestorePolicyArn?.Value).toEqual({ Ref: stack.getLogicalId(stack.hostPolicies.restorePolicy.node.defaultChild as never) });
    });
  });

  describe('operator policies', () => {
    /** Every IAM-authorized method of the API as "METHOD /path", from the template's resources. */
    const iamRoutes = (): string[] => {
      const paths = new Map<string, string>();
      const pathOf = (id: string): string => {
        const known = paths.get(id);
        if (known !== undefined) return known;
        const r = resources[id];
        if (r?.Type !== 'AWS::ApiGateway::Resource') return '';
        const parent = (r.Properties.ParentId as { Ref?: string }).Ref;
        const path = `${parent ? pathOf(parent) : ''}/${String(r.Properties.PathPart)}`;
        paths.set(id, path);
        return path;
      };
      return ofType(resources, 'AWS::ApiGateway::Method')
        .filter(([, m]) => m.Properties.AuthorizationType === 'AWS_IAM')
        .map(([, m]) => {
          const ref = (m.Properties.ResourceId as { Ref?: string }).Ref;
          return `${String(m.Properties.HttpMethod)} ${ref ? pathOf(ref) : '/'}`;
        })
        .map((r) => r.replace(/\{source\}|\{id\}/g, '*'))
        .sort();
    };
    /** The "METHOD /path" an execute-api ARN grants. */
    const granted = (s: Statement): string[] =>
      list(s.Resource as unknown[]).map((arn) => {
        const parts = (arn as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
        const tail = String(parts[parts.length - 1]); // "/GET/sources/*/archives"
        const [, method, ...rest] = tail.split('/');
        return `${String(method)} /${rest.join('/')}`;
      });
    const policy = (words: string): Resource | undefined => managedPolicies().find(([, p]) => String(p.Properties.Description).startsWith(words))?.[1];

    it('read-only: execute-api:Invoke on exactly the GET routes; restore: on exactly every IAM-authorized route', () => {
      const routes = iamRoutes();
      expect(routes).toEqual(expect.arrayContaining(['GET /volumes', 'POST /sources/*/restores', 'DELETE /sources/*/restores/*']));
      const read = statementsOf(policy('Lifeboat operators, read-only'));
      expect(read.map((s) => s.Sid)).toEqual(['ReadRoutes']);
      expect(read.flatMap(granted).sort()).toEqual(routes.filter((r) => r.startsWith('GET ')));
      const restore = statementsOf(policy('Lifeboat operators: '));
      expect(restore.map((s) => s.Sid)).toEqual(['ReadRoutes', 'ActRoutes']);
      expect(restore.flatMap(granted).sort()).toEqual(routes);
      for (const s of [...read, ...restore]) {
        expect(list(s.Action)).toEqual(['execute-api:Invoke']);
        expect(OPERATOR_STATEMENT_REASONS[s.Sid as keyof typeof OPERATOR_STATEMENT_REASONS]).toMatch(/^.{40,}$/);
      }
      // The Slack routes (Slack-signed, not IAM) are not in either.
      expect(JSON.stringify(restore)).not.toContain('slack');
    });
  });

  describe('named documents and outputs', () => {
    it.each(DOCUMENTS)('%s is named <stack>-%s and updated in place as a new version', (name) => {
      const doc = resources[stack.getLogicalId(stack.runbooks.documents[name])];
      expect(doc?.Properties).toMatchObject({ Name: `Deploy-${name}`, UpdateMethod: 'NewVersion', DocumentType: 'Command' });
    });

    it('a stack name AWS reserves as a document prefix, or a long one, still gives valid names', () => {
      expect(documentNameFor('AwsDr', 'restore-volume')).toBe('Lifeboat-AwsDr-restore-volume');
      const long = documentNameFor(`L${'x'.repeat(127)}`, 'cancel-restore');
      expect(long).toMatch(/^[A-Za-z0-9_.-]{3,128}$/);
      expect(long.endsWith('-cancel-restore')).toBe(true);
    });

    it('outputs name everything hosts and operators need', () => {
      expect(
        Object.keys(outputs)
          .filter((k) => !k.startsWith('RestoreApiEndpoint'))
          .sort(),
      ).toEqual(
        [
          'ApiUrl',
          'ArchiveBucketName',
          'BackupVolumeDocumentName',
          'CancelRestoreDocumentName',
          'CommandOutputLogGroupName',
          'HelperImageUri',
          'HostPolicybilling',
          'HostPolicylegacy',
          'HostPolicyshop',
          'HostRestorePolicyArn',
          'NotificationTopicArn',
          'OperatorReadOnlyPolicyArn',
          'OperatorRestorePolicyArn',
          'ReconcileFunctionName',
          'RecoveryStateMachineArn',
          'Region',
          'RestoreVolumeDocumentName',
          'Role',
          'SlackAppManifest',
          'SlackCommandsUrl',
          'SlackInteractionsUrl',
          'SlackSigningSecretArn',
        ].sort(),
      );
      expect(outputs.ReconcileFunctionName?.Value).toEqual({ Ref: stack.getLogicalId(stack.catalog.reconcile.node.defaultChild as never) });
      expect(JSON.stringify(outputs.SlackCommandsUrl?.Value)).toContain('slack/commands');
      expect(outputs.RestoreVolumeDocumentName?.Value).toEqual({ Ref: stack.getLogicalId(stack.runbooks.documents['restore-volume']) });
    });
  });

  describe('scheduled backups', () => {
    const associations = (): Resource[] => ofType(resources, 'AWS::SSM::Association').map(([, a]) => a);
    const backupDoc = loadDocument('backup-volume');

    it('one State Manager association per protect entry with a backup, running the backup document on its host', () => {
      const docRef = { Ref: stack.getLogicalId(stack.runbooks.documents['backup-volume']) };
      expect(associations().map((a) => a.Properties)).toEqual([
        expect.objectContaining({
          Name: docRef,
          AssociationName: 'Deploy-backup-shop-pgdata',
          ScheduleExpression: 'rate(1 hour)',
          Targets: [{ Key: 'InstanceIds', Values: [HOST] }],
          MaxConcurrency: '1',
        }),
        expect.objectContaining({
          Name: docRef,
          AssociationName: 'Deploy-backup-billing-ledger',
          ScheduleExpression: 'cron(30 2 ? * * *)',
          Targets: [{ Key: 'InstanceIds', Values: [BILLING_HOST] }],
          MaxConcurrency: '1',
        }),
      ]);
    });

    it("hands the document the stack's bucket and prefix, the volume, container and consistency; every name is a document parameter and every literal passes its pattern", () => {
      const [shop, billing] = associations().map((a) => a.Properties.Parameters as Record<string, unknown[]>);
      expect(shop).toMatchObject({
        Bucket: [{ Ref: expect.stringMatching(/^Archives/) as unknown }],
        KeyPrefix: ['archives'],
        Source: ['shop'],
        VolumeName: ['pgdata'],
        ContainerName: ['shop-db'],
        Consistency: ['pause'],
        Region: [{ Ref: 'AWS::Region' }],
      });
      // Without a container there is nothing to pause: a data-only, live copy.
      expect(billing).toMatchObject({ Source: ['billing'], VolumeName: ['ledger'], ContainerName: [''], Consistency: ['none'] });
      for (const params of [shop, billing]) {
        expect(Object.keys(params ?? {}).sort()).toEqual([
          'Bucket',
          'Consistency',
          'ContainerName',
          'HelperImage',
          'KeyPrefix',
          'Region',
          'Source',
          'VolumeName',
        ]);
        for (const [name, [value]] of Object.entries(params ?? {})) {
          const declared = backupDoc.parameters[name];
          expect(declared, `${name} is not a backup-volume parameter`).toBeDefined();
          if (typeof value === 'string' && declared?.allowedPattern) expect(value).toMatch(new RegExp(declared.allowedPattern));
        }
        // Each run labels its helpers with its own id: BackupId is never fixed by the association.
        expect(params).not.toHaveProperty('BackupId');
        const required = Object.entries(backupDoc.parameters).filter(([n, p]) => p.default === undefined && n !== 'BackupId');
        for (const [n] of required) expect(params, `${n} is required by the document`).toHaveProperty(n);
      }
    });

    it('a failed run is announced on the notification topic, naming the volume, by a rule per association', () => {
      const topic = { Ref: stack.getLogicalId(stack.notifications.topic.node.defaultChild as never) };
      const rules = ofType(resources, 'AWS::Events::Rule')
        .map(([, r]) => r.Properties)
        .filter((r) => JSON.stringify(r.EventPattern ?? null).includes('EC2 State Manager Instance Association State Change'));
      expect(rules).toHaveLength(2);
      stack.backups.associations.forEach((association, i) => {
        const rule = rules[i] as { EventPattern: unknown; Targets: { Arn: unknown; RoleArn: unknown; InputTransformer: { InputTemplate: string } }[] };
        expect(rule.EventPattern).toEqual({
          source: ['aws.ssm'],
          'detail-type': ['EC2 State Manager Instance Association State Change'],
          detail: {
            'association-id': [{ 'Fn::GetAtt': [stack.getLogicalId(association), 'AssociationId'] }],
            status: [{ 'anything-but': ['Success', 'Pending', 'InProgress'] }],
          },
        });
        expect(rule.Targets[0]?.Arn).toEqual(topic);
        expect(rule.Targets[0]?.InputTransformer.InputTemplate).toContain(
          `the scheduled backup of ${i === 0 ? 'shop/pgdata' : 'billing/ledger'} ended <detail-status>`,
        );
      });
      // EventBridge publishes with a role that may publish to the topic and use its key, nothing else.
      const [roleId] = JSON.stringify(rules[0]?.Targets).match(/NotifyRole[A-Za-z0-9]*/) ?? [];
      const roleStatements = ofType(resources, 'AWS::IAM::Policy')
        .filter(([, p]) => JSON.stringify(p.Properties.Roles ?? null).includes(roleId ?? '-'))
        .flatMap(([, p]) => statementsOf(p));
      expect(roleStatements.flatMap((s) => list(s.Action)).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'sns:Publish']);
      for (const s of roleStatements) expect(s.Resource).not.toBe('*');
      // What EventBridge cannot deliver waits in a queue, and that queue alarms.
      const [dlq] = JSON.stringify(rules[0]?.Targets).match(/BackupsNotifyDlq[A-Za-z0-9]*/) ?? [];
      const dlqAlarm = ofType(resources, 'AWS::CloudWatch::Alarm').find(
        ([, a]) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Properties.Dimensions).includes(dlq ?? '-'),
      );
      expect(dlqAlarm?.[1].Properties.AlarmActions).toEqual([topic]);
    });

    it("keeps each run's full output in the archive bucket under lifeboat-output/backups/<source>/<volume>, which the catalog never reads", () => {
      const [shop, billing] = associations().map((a) => a.Properties.OutputLocation as { S3Location: Record<string, unknown> });
      const bucket = { Ref: expect.stringMatching(/^Archives/) as unknown };
      expect(shop?.S3Location).toEqual({
        OutputS3BucketName: bucket,
        OutputS3KeyPrefix: 'lifeboat-output/backups/shop/pgdata',
        OutputS3Region: { Ref: 'AWS::Region' },
      });
      expect(billing?.S3Location).toMatchObject({ OutputS3KeyPrefix: 'lifeboat-output/backups/billing/ledger' });
      // The host policy's output grant covers exactly these keys (its source's output prefix).
      expect('lifeboat-output/backups/shop/pgdata/i-0123/assoc/run/stdout'.startsWith(`${backupOutputPrefixOf('shop')}/`)).toBe(true);
      // The catalog's event rule matches <archivePrefix>/ only, and its key parser refuses an output key.
      const catalogRule = ofType(resources, 'AWS::Events::Rule').find(([, r]) =>
        String(r.Properties.Description).startsWith('Lifeboat: catalog archives'),
      )?.[1];
      expect((catalogRule?.Properties.EventPattern as { detail: unknown }).detail).toMatchObject({ object: { key: [{ prefix: 'archives/' }] } });
      const outputKey = `${BACKUP_OUTPUT_PREFIX}/shop/pgdata/${HOST}/0b1c/2026-12-01T00-00-00/awsrunShellScript/0.backup/stdout`;
      expect(outputKey.startsWith('archives/')).toBe(false);
      expect(parseArchiveKey(outputKey, 'archives').ok).toBe(false);
    });
  });
});

describe('the output prefix stays outside the archives', () => {
  it('archivePrefix "lifeboat-output" fails synth', () => {
    expect(() => synth({ archivePrefix: 'lifeboat-output' })).toThrow(/lifeboat\.archivePrefix: must not be "lifeboat-output"/);
  });
});

describe('a scheduled backup on the host carrying a tag', () => {
  it('targets the tag, so a replacement host launched with it takes over the schedule with no redeploy', () => {
    const config: LifeboatConfig = {
      protect: [
        {
          source: 'shop',
          volume: 'pgdata',
          drillHost: { instanceId: HOST },
          rpoMinutes: 60,
          backup: { schedule: 'rate(1 hour)', host: { tag: { key: 'lifeboat:backup-host', value: 'shop' } } },
        },
      ],
    };
    const template = Template.fromStack(synth(config).stack);
    template.hasResourceProperties('AWS::SSM::Association', {
      Targets: [{ Key: 'tag:lifeboat:backup-host', Values: ['shop'] }],
      MaxConcurrency: '1',
    });
  });

  it('a host given as anything else fails synth, naming the field and the two forms', () => {
    const config = {
      protect: [
        {
          source: 'shop',
          volume: 'pgdata',
          drillHost: { instanceId: HOST },
          rpoMinutes: 60,
          backup: { schedule: 'rate(1 hour)', host: { name: 'db1' } },
        },
      ],
    } as unknown as LifeboatConfig;
    expect(() => synth(config)).toThrow(/lifeboat\.protect\.0\.backup\.host: must be \{"instanceId": "i-…"\} or \{"tag": \{"key": "…", "value": "…"\}\}/);
  });
});

describe('host policy output names cannot swap', () => {
  it('sources whose output ids collide fail synth, naming both', () => {
    const config: LifeboatConfig = {
      protect: [{ source: 'shop-db', volume: 'pgdata', drillHost: { instanceId: HOST }, rpoMinutes: 60 }],
      backupSources: ['shopdb'],
    };
    expect(() => synth(config)).toThrow(/sources "shop-db" and "shopdb" would both be output HostPolicyshopdb/);
  });

  it('the same source protected twice (two volumes) is one policy, not a collision', () => {
    const { outputs } = synth({
      protect: [
        { source: 'shop', volume: 'a', drillHost: { instanceId: HOST }, rpoMinutes: 60 },
        { source: 'shop', volume: 'b', drillHost: { instanceId: HOST }, rpoMinutes: 60 },
      ],
      backupSources: ['shop'],
    });
    expect(Object.keys(outputs).filter((k) => k.startsWith('HostPolicy'))).toEqual(['HostPolicyshop']);
  });
});

describe('an existing bucket in another region', () => {
  const config = { existingBucketName: 'my-old-backups', existingBucketRegion: 'eu-central-1', protect: FULL.protect };

  it("the documents' Region, the output location and the API's ARCHIVE_REGION are the bucket's region", () => {
    const { stack, resources } = synth(config);
    const associations = ofType(resources, 'AWS::SSM::Association').map(([, a]) => a.Properties);
    expect(associations).toHaveLength(2);
    for (const a of associations) {
      expect((a.Parameters as Record<string, unknown[]>).Region).toEqual(['eu-central-1']);
      expect((a.OutputLocation as { S3Location: unknown }).S3Location).toMatchObject({ OutputS3BucketName: 'my-old-backups', OutputS3Region: 'eu-central-1' });
    }
    const apiEnv = (stack.api.function.node.defaultChild as unknown as { environment: unknown }).environment;
    expect(JSON.stringify(stack.resolve(apiEnv))).toContain('"ARCHIVE_REGION":"eu-central-1"');
    // The catalog cannot see that region's S3 events: synth says so.
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('S3 sends its events to EventBridge in that region only'))).toHaveLength(1);
  });

  it.each([
    [{ existingBucketRegion: 'eu-central-1' }, /lifeboat\.existingBucketRegion: applies only with existingBucketName/],
    [
      { existingBucketName: 'my-old-backups', existingBucketRegion: 'Frankfurt' },
      /lifeboat\.existingBucketRegion: must be an AWS region such as "eu-central-1"/,
    ],
  ])('%o fails synth', (bad, message) => {
    expect(() => synth(bad as LifeboatConfig)).toThrow(message);
  });

  it('without existingBucketRegion the bucket is taken to be in the stack region', () => {
    const { resources } = synth({ existingBucketName: 'my-old-backups', protect: FULL.protect });
    const [a] = ofType(resources, 'AWS::SSM::Association').map(([, r]) => r.Properties);
    expect((a?.Parameters as Record<string, unknown[]>).Region).toEqual([{ Ref: 'AWS::Region' }]);
  });
});

describe('backup settings are checked at synth, naming the field', () => {
  const entry = (backup: unknown): LifeboatConfig => ({
    protect: [{ source: 'shop', volume: 'pgdata', drillHost: { instanceId: HOST }, rpoMinutes: 60, backup: backup as never }],
  });
  it.each([
    [
      { schedule: 'rate(5 minutes)', host: { instanceId: HOST } },
      /lifeboat\.protect\.0\.backup\.schedule: rate\(5 minutes\): State Manager runs associations at most every 30 minutes/,
    ],
    [{ schedule: 'cron(0 2 1 6 ? *)', host: { instanceId: HOST } }, /lifeboat\.protect\.0\.backup\.schedule: .*no month or year/],
    [{ schedule: 'every hour', host: { instanceId: HOST } }, /lifeboat\.protect\.0\.backup\.schedule: every hour: must be "rate/],
    [{ schedule: 'rate(1 hour)', host: { instanceId: 'web-1' } }, /lifeboat\.protect\.0\.backup\.host/],
    [
      { schedule: 'rate(1 hour)', host: { instanceId: HOST }, consistency: 'pause' },
      /lifeboat\.protect\.0\.backup\.consistency: pause needs backup\.container/,
    ],
    [
      { schedule: 'rate(1 hour)', host: { instanceId: HOST }, consistency: 'freeze', container: 'db' },
      /lifeboat\.protect\.0\.backup\.consistency: must be "pause", "stop" or "none"/,
    ],
    [{ schedule: 'rate(1 hour)', host: { instanceId: HOST }, container: 'db;rm' }, /lifeboat\.protect\.0\.backup\.container: must be a Docker container name/],
    [{ schedule: 'rate(1 hour)', host: { instanceId: HOST }, keep: 3 }, /lifeboat\.protect\.0\.backup: Unrecognized key: "keep"/],
  ])('a backup mistake fails synth (%#)', (backup, message) => {
    expect(() => synth(entry(backup))).toThrow(message);
  });

  it.each([
    ['rate(30 minutes)', undefined],
    ['rate(1 day)', undefined],
    ['cron(0 0/4 * * ? *)', undefined],
    ['cron(30 23 ? * TUE#3 *)', undefined],
    ['cron(0 0 ? * 3L *)', undefined],
    ['cron(0 */30 * * * ? *)', undefined],
    ['cron(0 2 ? * MON-FRI *)', undefined],
    ['rate(31 days)', /shorter than 31 days/],
    ['rate(2 hour)', /singular for 1 and plural otherwise/],
    ['cron(0 0/3 * * ? *)', /<start>\/<1\|2\|4\|8\|12>/],
    ['cron(0 2 * * MON *)', /exactly one of day-of-month and day-of-week/],
    ['cron(0 2 * * ?)', /six fields/],
  ])('State Manager schedule %s', (expression, problem) => {
    const found = associationScheduleProblem(expression);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe('settings that cannot apply fail synth, naming the fields', () => {
  it.each([
    [
      { existingBucketName: 'my-old-backups', objectLockDays: 30 },
      /lifeboat\.objectLockDays: applies only to a bucket the stack creates, not with existingBucketName/,
    ],
    [
      { helperImage: 'local/lifeboat-helper:1', helperPlatform: 'linux/arm64' },
      /lifeboat\.helperPlatform: applies only to the helper image the stack builds, not with helperImage/,
    ],
    [{ helperImage: 'helper;reboot' }, /lifeboat\.helperImage: must be an image reference the restore-volume document accepts/],
    [{ helperPlatform: 'windows/amd64' }, /lifeboat\.helperPlatform: must be "linux\/amd64" or "linux\/arm64"/],
  ])('%o', (config, message) => {
    expect(() => synth(config as LifeboatConfig)).toThrow(message);
  });
});

describe('an existing bucket', () => {
  it('gets EventBridge notifications from the stack, keeping its other notifications; cdk-nag is clean', () => {
    const { stack, resources } = synth({ existingBucketName: 'my-old-backups', protect: FULL.protect });
    expect(ofType(resources, 'AWS::S3::Bucket')).toHaveLength(0);
    const [, notifications] = ofType(resources, 'Custom::S3BucketNotifications')[0] ?? [];
    expect(notifications?.Properties).toMatchObject({
      BucketName: 'my-old-backups',
      NotificationConfiguration: { EventBridgeConfiguration: {} },
      // Not managed: the handler merges with what the bucket already notifies instead of replacing it.
      Managed: false,
    });
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });
});

describe('a helper image of the operator’s own (air-gapped hosts, an internal registry)', () => {
  it('in ECR: nothing is built; hosts may pull exactly that repository', () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/tools/lifeboat-helper:2';
    const { stack, resources, outputs } = synth({ helperImage: image, backupSources: ['shop'] });
    expect(stack.helper.asset).toBeUndefined();
    expect(ofType(resources, 'Custom::LifeboatHelperImageDigest')).toHaveLength(0);
    expect(outputs.HelperImageUri?.Value).toBe(image);
    const statements = ofType(resources, 'AWS::IAM::ManagedPolicy').flatMap(([, p]) => statementsOf(p));
    const pull = statements.find((s) => s.Sid === 'PullHelperImage');
    expect(JSON.stringify(pull?.Resource)).toContain(':ecr:eu-west-1:123456789012:repository/tools/lifeboat-helper"');
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });

  it('elsewhere: no ECR statement at all', () => {
    const { resources } = synth({ helperImage: 'local/lifeboat-helper:1', backupSources: ['shop'] });
    const sids = ofType(resources, 'AWS::IAM::ManagedPolicy').flatMap(([, p]) => statementsOf(p).map((s) => s.Sid));
    expect(sids).toContain('WriteOwnArchives');
    expect(sids.filter((s) => String(s).includes('Ecr') || String(s).startsWith('Pull'))).toEqual([]);
  });
});

describe('cdk.json', () => {
  it('sets every feature flag aws-cdk-lib recommends, to the recommended value', () => {
    const context = cdkJsonContext();
    const recommended = CURRENTLY_RECOMMENDED_FLAGS as Record<string, unknown>;
    expect(Object.keys(recommended).length).toBeGreaterThan(50);
    for (const [flag, value] of Object.entries(recommended)) expect(context[flag], flag).toEqual(value);
  });

  it('the template tests synthesize with that same context', () => {
    const app = templateApp();
    for (const [flag, value] of Object.entries(cdkJsonContext())) expect(app.node.tryGetContext(flag), flag).toEqual(value);
  });
});
