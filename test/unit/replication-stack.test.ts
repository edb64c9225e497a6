/**
 * Region loss, as the two synthesized templates show it: the primary replicates <prefix>/ to the
 * replica bucket (one rule, delete markers not replicated, a role with exactly what replication
 * needs, an alarm on failed replication); the DR stack serves its own bucket (catalog on its own
 * events, freshness that measures arrival there, drills only on replication.drillHost, no
 * scheduled backups); nothing references the other region at run time; both say which they are.
 */
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { templateApp } from '#root/lib/app-context.ts';
import { lifeboatStacks } from '#root/lib/lifeboat-app.ts';
import { LifeboatStack, type LifeboatConfig } from '#root/lib/lifeboat-stack.ts';
import { DENY_KMS_UPLOADS_SID, REPLICA_DENY_DELETES_SID, REPLICATION_RULE_ID, REPLICATION_STATEMENT_REASONS } from '#root/lib/replication.ts';
import { HOST_STATEMENT_REASONS } from '#root/lib/host-policies.ts';
import { REPLICA_STACK_ID, STACK_OUTPUTS, replicaBucketName } from '#core/replication.ts';

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
interface Json {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
}
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

const ACCOUNT = '123456789012';
const PRIMARY = 'eu-central-1';
const DR = 'eu-west-1';
const KEY = `arn:aws:kms:${DR}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const HOST = 'i-0123456789abcdef0';
/** The primary app's Slack signing secret: in the primary region, so the DR stack must not use it. */
const PRIMARY_SECRET = `arn:aws:secretsmanager:${PRIMARY}:${ACCOUNT}:secret:lifeboat/slack-AbCdEf`;
const DR_SECRET = `arn:aws:secretsmanager:${DR}:${ACCOUNT}:secret:lifeboat/slack-dr-AbCdEf`;
const DR_HOST = 'i-0fedcba9876543210';
const PROTECT: LifeboatConfig['protect'] = [
  {
    source: 'shop',
    volume: 'pgdata',
    drillHost: { instanceId: HOST },
    rpoMinutes: 90,
    backup: { schedule: 'rate(1 hour)', host: { instanceId: HOST }, container: 'shop-db' },
  },
  { source: 'billing', volume: 'ledger', drillHost: { tag: { key: 'lifeboat:drill-host', value: 'true' } }, rpoMinutes: 1440 },
];
/** The replica bucket's default name as both templates spell it (the account is the deploying one, a pseudo parameter). */
const REPLICA_NAME = { 'Fn::Join': ['', [`lifeboat-replica-`, { Ref: 'AWS::AccountId' }, `-${DR}`]] };

function twoStacks(config: LifeboatConfig): { primary: LifeboatStack; replica: LifeboatStack; p: Json; r: Json } {
  const { primary, replica } = lifeboatStacks(templateApp(), config, { account: ACCOUNT, region: PRIMARY });
  if (!replica) throw new Error('no DR stack');
  return { primary, replica, p: Template.fromStack(primary).toJSON() as Json, r: Template.fromStack(replica).toJSON() as Json };
}
const ofType = (json: Json, type: string): [string, Resource][] => Object.entries(json.Resources).filter(([, r]) => r.Type === type);
const statementsOf = (r: Resource): Statement[] => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
/** The replication role's statements (its policy is attached to the role under Replication/). */
function replicationStatements(stack: LifeboatStack, json: Json): Statement[] {
  const role = stack.getLogicalId(stack.lifeboat.node.findChild('Replication').node.findChild('Role').node.defaultChild as never);
  return ofType(json, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap(([, p]) => statementsOf(p));
}
const bySid = (statements: Statement[], sid: string): Statement => {
  const found = statements.filter((s) => s.Sid === sid);
  expect(found, sid).toHaveLength(1);
  return found[0] as Statement;
};
const archiveBucketId = (stack: LifeboatStack): string => stack.getLogicalId(stack.bucket.bucket.node.defaultChild as never);

describe('replication to a DR region: defaults (no RTC, no KMS, no DR drill host)', () => {
  let primary: LifeboatStack;
  let replica: LifeboatStack;
  let p: Json;
  let r: Json;
  beforeAll(() => {
    ({ primary, replica, p, r } = twoStacks({
      protect: PROTECT,
      recoveryDrills: [{ source: 'shop', drillHost: { instanceId: HOST } }],
      slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'], signingSecretArn: PRIMARY_SECRET },
      replication: { region: DR },
    }));
  });

  it('the app has the primary in its region and LifeboatDr in the DR region; the primary deploys after it', () => {
    expect([primary.stackName, primary.region]).toEqual(['Lifeboat', PRIMARY]);
    expect([replica.stackName, replica.region, replica.account]).toEqual([REPLICA_STACK_ID, DR, ACCOUNT]);
    expect(primary.dependencies).toEqual([replica]);
    expect(replica.dependencies).toEqual([]);
  });

  it('both stacks are cdk-nag clean', () => {
    expect(new AwsSolutionsChecks().validateScope(primary).violations).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(replica).violations).toEqual([]);
  });

  it('both output Region and Role (what the CLI picks a stack by), the primary also the replica bucket’s name', () => {
    expect(p.Outputs[STACK_OUTPUTS.region]?.Value).toBe(PRIMARY);
    expect(p.Outputs[STACK_OUTPUTS.role]?.Value).toBe('primary');
    expect(r.Outputs[STACK_OUTPUTS.region]?.Value).toBe(DR);
    expect(r.Outputs[STACK_OUTPUTS.role]?.Value).toBe('replica');
    for (const o of [p.Outputs, r.Outputs]) expect(o[STACK_OUTPUTS.apiUrl]).toBeDefined();
    expect(p.Outputs.ReplicaBucketName?.Value).toEqual(REPLICA_NAME);
    expect(r.Outputs.ArchiveBucketName?.Value).toEqual({ Ref: archiveBucketId(replica) });
    expect(replicaBucketName('X', DR)).toBe(`lifeboat-replica-X-${DR}`);
  });

  it('the primary bucket replicates archives/ in one rule to the replica bucket, delete markers not replicated, metrics on, no RTC, no KMS', () => {
    const rules = (p.Resources[archiveBucketId(primary)]?.Properties.ReplicationConfiguration as { Rules: unknown[] }).Rules;
    expect(rules).toHaveLength(1);
    Template.fromJSON(p).hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      ReplicationConfiguration: {
        Role: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReplicationRole'), 'Arn'] },
        Rules: [
          {
            Id: REPLICATION_RULE_ID,
            Priority: 0,
            Status: 'Enabled',
            Filter: { Prefix: 'archives/' },
            DeleteMarkerReplication: { Status: 'Disabled' },
            Destination: {
              Bucket: { 'Fn::Join': ['', ['arn:aws:s3:::lifeboat-replica-', { Ref: 'AWS::AccountId' }, `-${DR}`]] },
              Metrics: { Status: 'Enabled' },
            },
          },
        ],
      },
    });
  });

  it('the replication role: trusted by S3 of this account only; exactly the replication actions, on the archive prefix; no ReplicateDelete', () => {
    Template.fromJSON(p).hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: 'sts:AssumeRole',
            Principal: { Service: 's3.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } },
          },
        ],
      },
    });
    const statements = replicationStatements(primary, p);
    expect(statements.map((s) => s.Sid).sort()).toEqual(['ReplicaObjects', 'SourceBucket', 'SourceObjects']);
    for (const s of statements) {
      expect(s.Effect).toBe('Allow');
      // Only the replica side has a condition: the bucket it writes into must be this account's.
      expect(s.Condition).toEqual(s.Sid === 'ReplicaObjects' ? { StringEquals: { 's3:ResourceAccount': ACCOUNT } } : undefined);
      expect(Object.keys(REPLICATION_STATEMENT_REASONS)).toContain(s.Sid);
    }
    const bucket = archiveBucketId(primary);
    const source = bySid(statements, 'SourceBucket');
    expect(list(source.Action).sort()).toEqual(['s3:GetReplicationConfiguration', 's3:ListBucket']);
    expect(source.Resource).toEqual({ 'Fn::GetAtt': [bucket, 'Arn'] });
    const objects = bySid(statements, 'SourceObjects');
    expect(list(objects.Action).sort()).toEqual(['s3:GetObjectVersionAcl', 's3:GetObjectVersionForReplication', 's3:GetObjectVersionTagging']);
    expect(objects.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucket, 'Arn'] }, '/archives/*']] });
    const replicas = bySid(statements, 'ReplicaObjects');
    expect(list(replicas.Action).sort()).toEqual(['s3:ReplicateObject', 's3:ReplicateTags']);
    expect(replicas.Resource).toEqual({ 'Fn::Join': ['', ['arn:aws:s3:::lifeboat-replica-', { Ref: 'AWS::AccountId' }, `-${DR}/archives/*`]] });
    expect(JSON.stringify(p)).not.toContain('ReplicateDelete');
  });

  it('failed replication alarms on the notification topic (S3 replication metrics of the rule)', () => {
    Template.fromJSON(p).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/S3',
      MetricName: 'OperationsFailedReplication',
      Dimensions: Match.arrayWith([
        { Name: 'DestinationBucket', Value: REPLICA_NAME },
        { Name: 'RuleId', Value: REPLICATION_RULE_ID },
        { Name: 'SourceBucket', Value: { Ref: archiveBucketId(primary) } },
      ]),
      Threshold: 1,
      AlarmActions: [{ Ref: primary.getLogicalId(primary.notifications.topic.node.defaultChild as never) }],
      AlarmDescription: Match.stringLikeRegexp(`failed to replicate to the DR region ${DR}`),
    });
  });

  it('the role writes replicas only into a bucket this account owns (s3:ResourceAccount: a predictable name could be someone else’s)', () => {
    const replicaObjects = bySid(replicationStatements(primary, p), 'ReplicaObjects');
    expect(list(replicaObjects.Action).sort()).toEqual(['s3:ReplicateObject', 's3:ReplicateTags']);
    expect(replicaObjects.Condition).toEqual({ StringEquals: { 's3:ResourceAccount': ACCOUNT } });
    expect(REPLICATION_STATEMENT_REASONS.ReplicaObjects).toMatch(/s3:ResourceAccount/);
  });

  it('the DR bucket is the replica: named as the primary names it, versioned, TLS-only, access-logged, retained, EventBridge on, no replication of its own', () => {
    const [id, bucket] = ofType(r, 'AWS::S3::Bucket').find(([, b]) => b.Properties.BucketName !== undefined) ?? [];
    expect(id).toBe(archiveBucketId(replica));
    expect(bucket?.Properties).toMatchObject({
      BucketName: REPLICA_NAME,
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LoggingConfiguration: expect.anything() as unknown,
    });
    expect(bucket?.Properties.ReplicationConfiguration).toBeUndefined();
    expect(bucket?.Properties.ObjectLockEnabled).toBeUndefined();
    const t = Template.fromJSON(r);
    t.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ BucketName: REPLICA_NAME }) });
    t.hasResourceProperties('Custom::S3BucketNotifications', { BucketName: { Ref: id }, NotificationConfiguration: { EventBridgeConfiguration: {} } });
    t.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('the DR catalog follows its own bucket’s events (replicas emit Object Created) and has a reconcile function', () => {
    Template.fromJSON(r).hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created', 'Object Deleted'],
        detail: { bucket: { name: [{ Ref: archiveBucketId(replica) }] }, object: { key: [{ prefix: 'archives/' }] } },
      },
    });
    expect(r.Outputs.ReconcileFunctionName).toBeDefined();
    expect(r.Outputs.ApiUrl).toBeDefined();
  });

  it('DR freshness: one alarm per protected volume saying archives have not ARRIVED in the DR region; no drills without replication.drillHost', () => {
    const alarms = ofType(r, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'BackupOverdue');
    expect(alarms.map(([, a]) => a.Properties.AlarmDescription)).toEqual([
      `Lifeboat: archives of shop/pgdata have not ARRIVED in the DR region ${DR} for 90 min (its RPO): replication lag, or backups stopped (or the check is not running)`,
      `Lifeboat: archives of billing/ledger have not ARRIVED in the DR region ${DR} for 1440 min (its RPO): replication lag, or backups stopped (or the check is not running)`,
    ]);
    const schedules = ofType(r, 'AWS::Scheduler::Schedule').map(([, s]) => String(s.Properties.Description));
    expect(schedules).toEqual(['Lifeboat: backup age of every protected volume against its RPO']);
    expect(replica.protection.drillFunction).toBeUndefined();
    expect(ofType(r, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'DrillFailed')).toEqual([]);
  });

  it('no scheduled backups and no recovery drills in the DR stack (State Manager would run every host’s backups twice); the primary keeps its own', () => {
    expect(ofType(r, 'AWS::SSM::Association')).toEqual([]);
    expect(ofType(p, 'AWS::SSM::Association')).toHaveLength(1);
    const recoveryDrills = (json: Json): unknown[] =>
      ofType(json, 'AWS::Scheduler::Schedule').filter(([, s]) => String(s.Properties.Description).toLowerCase().includes('recovery drill'));
    expect(recoveryDrills(p)).toHaveLength(1);
    expect(recoveryDrills(r)).toEqual([]);
  });

  it('the DR stack has its own Slack routes when slack is configured', () => {
    expect(
      Object.keys(r.Outputs)
        .filter((k) => k.startsWith('Slack'))
        .sort(),
    ).toEqual(['SlackAppManifest', 'SlackCommandsUrl', 'SlackInteractionsUrl', 'SlackSigningSecretArn']);
  });

  it('the DR stack hands out host policies for its own bucket (hosts in the DR region attach them in a failover)', () => {
    expect(r.Outputs.HostPolicyshop).toBeDefined();
    const shop = ofType(r, 'AWS::IAM::ManagedPolicy').find(([, m]) => String(m.Properties.Description).includes('source shop:'))?.[1];
    const write = statementsOf(shop as Resource).find((s) => s.Sid === 'WriteOwnReplicaArchives');
    expect(write?.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [archiveBucketId(replica), 'Arn'] }, '/archives/shop/*']] });
  });

  it('DR host policies write archives without s3:DeleteObject (a global role holding both policies cannot delete the DR copy); the primary’s keep it', () => {
    const hostStatements = (json: Json): Statement[] =>
      ofType(json, 'AWS::IAM::ManagedPolicy')
        .filter(([, m]) => String(m.Properties.Description).includes('a host of source'))
        .flatMap(([, m]) => statementsOf(m));
    const dr = hostStatements(r);
    expect(dr.length).toBeGreaterThan(0);
    const writes = dr.filter((s) => s.Sid === 'WriteOwnReplicaArchives');
    expect(writes).toHaveLength(2); // shop and billing
    for (const w of writes) expect(list(w.Action).sort()).toEqual(['s3:AbortMultipartUpload', 's3:PutObject']);
    expect(dr.flatMap((s) => list(s.Action)).filter((a) => a.startsWith('s3:Delete'))).toEqual([]);
    expect(dr.filter((s) => s.Sid === 'WriteOwnArchives')).toEqual([]);
    expect(HOST_STATEMENT_REASONS.WriteOwnReplicaArchives).toMatch(/no DeleteObject/);
    const primaryWrite = hostStatements(p).find((s) => s.Sid === 'WriteOwnArchives');
    expect(list(primaryWrite?.Action ?? []).sort()).toEqual(['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:PutObject']);
  });

  it('the replica bucket policy denies s3:DeleteObject and s3:DeleteObjectVersion under archives/ to every principal (break glass: an administrator changes the policy)', () => {
    Template.fromJSON(r).hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: archiveBucketId(replica) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: REPLICA_DENY_DELETES_SID,
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [archiveBucketId(replica), 'Arn'] }, '/archives/*']] },
          },
        ]),
      },
    });
    expect(REPLICA_DENY_DELETES_SID).toMatch(/BreakGlass/);
    expect(JSON.stringify(p)).not.toContain(REPLICA_DENY_DELETES_SID);
  });

  it('the primary bucket refuses SSE-KMS and DSSE-KMS uploads under archives/ (S3 would not replicate them)', () => {
    Template.fromJSON(p).hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: archiveBucketId(primary) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: DENY_KMS_UPLOADS_SID,
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [archiveBucketId(primary), 'Arn'] }, '/archives/*']] },
            Condition: { StringEquals: { 's3:x-amz-server-side-encryption': ['aws:kms', 'aws:kms:dsse'] } },
          },
        ]),
      },
    });
    expect(JSON.stringify(r)).not.toContain(DENY_KMS_UPLOADS_SID);
  });

  it('the DR Slack app has its own signing secret in the DR region, never slack.signingSecretArn (in the primary region)', () => {
    const own = ofType(r, 'AWS::SecretsManager::Secret');
    expect(own).toHaveLength(1);
    const envs = ofType(r, 'AWS::Lambda::Function')
      .map(([, f]) => (f.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.SIGNING_SECRET_ARN)
      .filter((v) => v !== undefined);
    expect(envs).toHaveLength(2);
    for (const v of envs) expect(v).toEqual({ Ref: own[0]?.[0] });
    expect(r.Outputs.SlackSigningSecretArn?.Value).toEqual({ Ref: own[0]?.[0] });
    expect(JSON.stringify(r)).not.toContain(PRIMARY_SECRET);
    expect(JSON.stringify(p)).toContain(PRIMARY_SECRET);
    expect(ofType(p, 'AWS::SecretsManager::Secret')).toEqual([]);
  });

  it('no run-time reference across regions: the DR template names neither the primary region nor the primary stack, and imports nothing', () => {
    const dr = JSON.stringify(r);
    // The config names the primary region (slack.signingSecretArn): none of it reaches the DR template.
    expect(dr).not.toContain(PRIMARY);
    expect(dr).not.toMatch(/arn:aws[a-z-]*:[a-z0-9-]+:eu-central-1:/);
    expect(dr).not.toContain('Fn::ImportValue');
    expect(dr).not.toContain('"Lifeboat-'); // no name derived from the primary stack (its documents, its associations)
    // Every bucket the DR stack's functions are handed is its own (a Ref in one template can only name that template's resources).
    const buckets = ofType(r, 'AWS::Lambda::Function')
      .map(([, f]) => (f.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables)
      .flatMap((v) => Object.entries(v ?? {}).filter(([k]) => k.includes('BUCKET')))
      .map(([, b]) => b);
    expect(buckets.length).toBeGreaterThanOrEqual(3);
    for (const b of buckets) expect(b).toEqual({ Ref: archiveBucketId(replica) });
  });

  it('the primary names the DR region only in the replication rule, its role, its alarm and the ReplicaBucketName output', () => {
    const replication = new Set(
      primary.lifeboat.node
        .findChild('Replication')
        .node.findAll()
        .filter((c) => c.node.defaultChild === undefined && 'cfnResourceType' in c)
        .map((c) => primary.getLogicalId(c as never)),
    );
    const rest: Json = {
      Resources: Object.fromEntries(
        Object.entries(p.Resources)
          .filter(([id]) => !replication.has(id))
          .map(([id, res]) =>
            id === archiveBucketId(primary) ? [id, { ...res, Properties: { ...res.Properties, ReplicationConfiguration: undefined } }] : [id, res],
          ),
      ),
      Outputs: Object.fromEntries(Object.entries(p.Outputs).filter(([k]) => k !== 'ReplicaBucketName')),
    };
    expect(replication.size).toBeGreaterThanOrEqual(3); // the role, its policy, the alarm
    expect(JSON.stringify(p)).toContain(DR);
    expect(JSON.stringify(rest)).not.toContain(DR);
    expect(JSON.stringify(p)).not.toContain('Fn::ImportValue');
  });
});

describe('replication with RTC, a replica KMS key, Object Lock and a DR drill host', () => {
  let primary: LifeboatStack;
  let replica: LifeboatStack;
  let p: Json;
  let r: Json;
  beforeAll(() => {
    ({ primary, replica, p, r } = twoStacks({
      protect: PROTECT,
      objectLockDays: 30,
      slack: { teamIds: ['T0LIFE'], channelIds: ['C0ONCALL'], userIds: ['U0ALICE'], signingSecretArn: PRIMARY_SECRET },
      replication: { region: DR, replicationTimeControl: true, kmsKeyArn: KEY, drillHost: { instanceId: DR_HOST }, slackSigningSecretArn: DR_SECRET },
    }));
  });

  it('both stacks are cdk-nag clean', () => {
    expect(new AwsSolutionsChecks().validateScope(primary).violations).toEqual([]);
    expect(new AwsSolutionsChecks().validateScope(replica).violations).toEqual([]);
  });

  it('the rule turns on Replication Time Control with its metrics and event threshold, and encrypts replicas with the replica key', () => {
    Template.fromJSON(p).hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ReplicationConfiguration: {
        Role: Match.anyValue(),
        Rules: [
          Match.objectLike({
            Filter: { Prefix: 'archives/' },
            DeleteMarkerReplication: { Status: 'Disabled' },
            Destination: Match.objectLike({
              ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
              Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
              EncryptionConfiguration: { ReplicaKmsKeyID: KEY },
            }),
          }),
        ],
      },
    });
  });

  it('the role adds Object Lock reads on the source and the replica key through S3 in the DR region only; still no ReplicateDelete', () => {
    const statements = replicationStatements(primary, p);
    expect(list(bySid(statements, 'SourceObjects').Action).sort()).toEqual([
      's3:GetObjectLegalHold',
      's3:GetObjectRetention',
      's3:GetObjectVersionAcl',
      's3:GetObjectVersionForReplication',
      's3:GetObjectVersionTagging',
    ]);
    const key = bySid(statements, 'ReplicaKey');
    expect(list(key.Action).sort()).toEqual(['kms:Encrypt', 'kms:GenerateDataKey']);
    expect(key.Resource).toBe(KEY);
    expect(key.Condition).toEqual({ StringEquals: { 'kms:ViaService': `s3.${DR}.amazonaws.com` } });
    expect(JSON.stringify(p)).not.toContain('ReplicateDelete');
  });

  it('the DR bucket has Object Lock (the primary’s days by default) and the replica key as its default encryption', () => {
    Template.fromJSON(r).hasResourceProperties('AWS::S3::Bucket', {
      BucketName: REPLICA_NAME,
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY } }] },
    });
  });

  it('with replication.slackSigningSecretArn the DR Slack app reads that secret (in the DR region) and creates none', () => {
    expect(ofType(r, 'AWS::SecretsManager::Secret')).toEqual([]);
    expect(r.Outputs.SlackSigningSecretArn?.Value).toBe(DR_SECRET);
    expect(JSON.stringify(r)).not.toContain(PRIMARY_SECRET);
  });

  it('DR readers (catalog, API, drills) may decrypt with the replica key through S3 in the DR region only', () => {
    const decrypts = ofType(r, 'AWS::IAM::Policy')
      .flatMap(([, pol]) => statementsOf(pol))
      .filter((s) => list(s.Action).includes('kms:Decrypt') && s.Resource === KEY);
    expect(decrypts.length).toBeGreaterThanOrEqual(4);
    for (const s of decrypts) expect(s.Condition).toEqual({ StringEquals: { 'kms:ViaService': `s3.${DR}.amazonaws.com` } });
  });

  it('DR hosts writing archives in a failover may encrypt with the replica key, through S3 in the DR region only', () => {
    const shop = ofType(r, 'AWS::IAM::ManagedPolicy').find(([, m]) => String(m.Properties.Description).includes('source shop:'))?.[1];
    const encrypt = statementsOf(shop as Resource).find((s) => s.Sid === 'EncryptOwnArchives');
    expect(list(encrypt?.Action ?? []).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(encrypt?.Resource).toBe(KEY);
    expect(encrypt?.Condition).toEqual({ StringEquals: { 'kms:ViaService': `s3.${DR}.amazonaws.com` } });
    expect(JSON.stringify(p)).not.toContain('EncryptOwnArchives');
  });

  it('drills run in the DR region on replication.drillHost, one per protected volume on its schedule; no DR associations still', () => {
    const drills = ofType(r, 'AWS::Scheduler::Schedule').filter(([, s]) => String(s.Properties.Description).includes('restore drill'));
    expect(drills).toHaveLength(PROTECT.length);
    for (const [, s] of drills) {
      expect(s.Properties.ScheduleExpression).toBe('cron(0 4 * * ? *)');
      const input = JSON.parse((s.Properties.Target as { Input: string }).Input) as { drillHost: unknown };
      expect(input.drillHost).toEqual({ instanceId: DR_HOST });
    }
    // The primary's drill and backup hosts are in the primary region: no DR schedule names them.
    expect(JSON.stringify(ofType(r, 'AWS::Scheduler::Schedule'))).not.toContain(HOST);
    expect(ofType(r, 'AWS::SSM::Association')).toEqual([]);
    expect(
      ofType(r, 'AWS::CloudWatch::Alarm').filter(([, a]) => String(a.Properties.AlarmDescription).includes(`drill of shop/pgdata in the DR region ${DR}`)),
    ).toHaveLength(1);
  });
});

describe('an existing replica bucket', () => {
  const PRIMARY_ECR = `${ACCOUNT}.dkr.ecr.${PRIMARY}.amazonaws.com`;
  const DR_ECR = `${ACCOUNT}.dkr.ecr.${DR}.amazonaws.com`;
  it('the primary names it; the DR stack imports it and turns on its EventBridge notifications; Object Lock on the primary warns', () => {
    const { primary, replica, r, p } = twoStacks({
      objectLockDays: 30,
      helperImage: `${PRIMARY_ECR}/lifeboat-helper:1`,
      allowedImages: [`${PRIMARY_ECR}/db/postgres`, `${PRIMARY_ECR}/apps/`, `${DR_ECR}/db/postgres`, 'docker.io/library/redis'],
      replication: { region: DR, existingBucketName: 'my-dr-archives' },
    });
    // The deny on deletes cannot be set on an imported bucket: synth tells the user to add it.
    expect(JSON.stringify(r)).not.toContain(REPLICA_DENY_DELETES_SID);
    expect(
      Annotations.fromStack(replica).findWarning(
        '*',
        Match.stringLikeRegexp('denying s3:DeleteObject and s3:DeleteObjectVersion on arn:aws:s3:::my-dr-archives/archives/\\* to every principal'),
      ),
    ).toHaveLength(1);
    // ECR references in the primary region: named, with the fix; the DR-region copy and Docker Hub are not.
    const helper = Annotations.fromStack(replica).findWarning(
      '*',
      Match.stringLikeRegexp('helperImage .*lifeboat-helper:1 is in ECR in the primary region eu-central-1'),
    );
    expect(helper).toHaveLength(1);
    expect(JSON.stringify(helper)).toMatch(/Leave helperImage unset/);
    const allowed = Annotations.fromStack(replica).findWarning('*', Match.stringLikeRegexp('^allowedImages '));
    expect(allowed).toHaveLength(1);
    const text = JSON.stringify(allowed[0]?.entry.data);
    expect(text).toContain(`${PRIMARY_ECR}/db/postgres, ${PRIMARY_ECR}/apps/ are in ECR in the primary region ${PRIMARY}`);
    expect(text).toContain(`ECR replication) and list the DR copies in allowedImages`);
    expect(text).not.toContain(DR_ECR);
    expect(text).not.toContain('redis');
    expect(Annotations.fromStack(primary).findWarning('*', Match.stringLikeRegexp('ECR in the primary region'))).toEqual([]);
    expect(
      Annotations.fromStack(primary).findWarning('*', Match.stringLikeRegexp('Object Lock on for replication.existingBucketName my-dr-archives')),
    ).toHaveLength(1);
    expect(JSON.stringify(p.Resources)).toContain(':s3:::my-dr-archives');
    expect(ofType(r, 'AWS::S3::Bucket')).toEqual([]);
    Template.fromJSON(r).hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: 'my-dr-archives',
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
  });
});

describe('configuration mistakes fail synth naming the field', () => {
  const synthPrimary = (config: LifeboatConfig, region = PRIMARY): LifeboatStack => lifeboatStacks(templateApp(), config, { account: ACCOUNT, region }).primary;

  it('replication with an imported primary bucket', () => {
    expect(() => synthPrimary({ existingBucketName: 'my-old-backups', replication: { region: DR } })).toThrow(
      /lifeboat\.replication: does not apply with existingBucketName: the stack cannot put a replication configuration on a bucket it imports/,
    );
  });

  it('a DR region equal to the primary’s, or not a region', () => {
    expect(() => synthPrimary({ replication: { region: DR } }, DR)).toThrow(
      /lifeboat\.replication\.region: must be another region than the primary stack’s \(eu-west-1\)/,
    );
    expect(() => synthPrimary({ replication: { region: 'europe' } })).toThrow(/lifeboat\.replication\.region: must be an AWS region/);
  });

  it('a DR stack deployed to another region than replication.region, or without replication', () => {
    expect(() => new LifeboatStack(templateApp(), 'Dr', { config: { replication: { region: DR } }, role: 'replica', env: { region: PRIMARY } })).toThrow(
      /lifeboat\.replication\.region: is eu-west-1, but the DR stack is deployed to eu-central-1/,
    );
    expect(() => new LifeboatStack(templateApp(), 'Dr', { role: 'replica', env: { region: DR } })).toThrow(
      /lifeboat\.replication: is required for the DR stack/,
    );
  });

  it('replication fields: both bucket names, a key in another region', () => {
    expect(() => synthPrimary({ replication: { region: DR, bucketName: 'a-bucket', existingBucketName: 'b-bucket' } })).toThrow(
      /lifeboat\.replication\.existingBucketName: give bucketName/,
    );
    expect(() => synthPrimary({ replication: { region: DR, kmsKeyArn: KEY.replace(DR, PRIMARY) } })).toThrow(
      /lifeboat\.replication\.kmsKeyArn: must be a key in the DR region/,
    );
    expect(() => synthPrimary({ replication: { region: DR, slackSigningSecretArn: PRIMARY_SECRET } })).toThrow(
      /lifeboat\.replication\.slackSigningSecretArn: must be a secret in the DR region eu-west-1 \(this one is in eu-central-1/,
    );
    expect(() => synthPrimary({ replication: { region: DR, slackSigningSecretArn: 'my-secret' } })).toThrow(
      /lifeboat\.replication\.slackSigningSecretArn: must be a Secrets Manager secret ARN/,
    );
  });

  it('without replication the app has one stack, environment-agnostic as before', () => {
    const { primary, replica } = lifeboatStacks(templateApp(), {}, { account: ACCOUNT, region: PRIMARY });
    expect(replica).toBeUndefined();
    expect(primary.environment).toBe('aws://unknown-account/unknown-region');
  });
});
