/**
 * A backup now (`POST /sources/{source}/backups`): the body is judged field by field with the
 * backup-volume document's own patterns, the host must be online and its tag must name the
 * source (`*` is not enough); a host shared with other sources backs up only the volumes the
 * stack protects for the source, with no host directory and no container; SSM receives exactly the document, the instance, the parameters, a comment naming
 * the source and the command-output log group. The status answer is given only for the
 * backup document's commands of that source.
 */
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import { BACKUP_HOST_PATH_PATTERN, BackupRequest } from '#core/backup/schemas.ts';
import { BackupService, backupComment } from '#core/backup/service.ts';
import { SOURCE_PATTERN, VOLUME_PATTERN } from '#core/archive-key.ts';
import { CONTAINER_PATTERN, INSTANCE_ID_PATTERN, MOUNT_PATH_PATTERN } from '#core/restore/request.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import type { InstanceTagReader } from '#core/adapters/ec2-tags.ts';

const ssmMock = mockClient(SSMClient);
const logsMock = mockClient(CloudWatchLogsClient);
const INSTANCE = 'i-0123456789abcdef0';
const COMMAND = '0b6b7c6e-1f2a-4c3d-9e8f-001122334455';
const BACKUP_ID = 'b-mfx2k1a0-1a2b3c4d';
const DOCUMENT = 'Lifeboat-Backup';
const document = loadDocument('backup-volume');
/** The stack's protect entries as the restore policy carries them: (source, volume). */
const PROTECTED = [
  { source: 'db1', volume: 'pgdata' },
  { source: 'db1', volume: 'common' },
  { source: 'billing', volume: 'common' },
  { source: 'billing', volume: 'ledger' },
];

const result = (outcome: 'succeeded' | 'failed') => ({
  lifeboat: 'backup-result',
  version: 1,
  backupId: BACKUP_ID,
  outcome,
  failedPhase: outcome === 'failed' ? 'preflight' : null,
  error: outcome === 'failed' ? 'volume pgdata does not exist on this host' : null,
  volume: 'pgdata',
  hostPath: null,
  container: 'db',
  consistency: 'pause',
  bucket: 'archives-bucket',
  archiveKey: outcome === 'succeeded' ? 'archives/db1/pgdata/20261201T224500Z.tar.zst' : null,
  manifestKey: outcome === 'succeeded' ? 'archives/db1/pgdata/20261201T224500Z.tar.zst.manifest.json' : null,
  bytes: 4096,
  uncompressedBytes: 65536,
  fileCount: 12,
  sha256: outcome === 'succeeded' ? 'ab'.repeat(32) : null,
  compression: 'zstd',
  containerFrozenSeconds: 1.5,
  phases: { preflight: 0.5, archive: 2, manifest: 0.25 },
  totalSeconds: 2.75,
  pruneRisk: { notUsedByRunningContainer: [], unreferenced: [] },
});

class Tags implements InstanceTagReader {
  value: string | undefined = 'db1';
  tag(): Promise<string | undefined> {
    return Promise.resolve(this.value);
  }
}

describe('BackupRequest: every field checked, each error naming its field', () => {
  it('takes a volume with defaults', () => {
    expect(BackupRequest.parse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE })).toEqual({
      source: 'db1',
      volume: 'pgdata',
      instanceId: INSTANCE,
      consistency: 'pause',
    });
  });

  it.each([
    [{ source: 'db1', instanceId: INSTANCE }, 'volume', /is required: name the Docker volume/],
    [{ source: 'db1', volume: 'pgdata', hostPath: '/srv/pg', instanceId: INSTANCE }, 'hostPath', /exactly one of volume and hostPath/],
    [{ source: 'db1', volume: '-x', instanceId: INSTANCE }, 'volume', /must be a Docker volume name/],
    [{ source: 'db1', hostPath: '/srv', instanceId: INSTANCE }, 'hostPath', /at least two segments/],
    [{ source: 'db1', hostPath: '/srv/$(id)', instanceId: INSTANCE }, 'hostPath', /absolute host directory/],
    // Above a system directory: all of /var/lib/docker (every volume, every container's env) would go with it.
    [
      { source: 'db1', hostPath: '/var/lib', instanceId: INSTANCE },
      'hostPath',
      /^must be a data directory such as \/srv\/pgdata, neither one of, inside nor above a system directory \(\/etc, .*\); \/var\/lib holds a system directory \(\/var\/lib\/docker\)$/,
    ],
    [{ source: 'db1', hostPath: '/var/lib/amazon', instanceId: INSTANCE }, 'hostPath', /; \/var\/lib\/amazon is a system directory \(\/var\/lib\/amazon\)$/],
    [{ source: 'db1', hostPath: '/var/backups/db', instanceId: INSTANCE }, 'hostPath', /; \/var\/backups\/db is inside a system directory \(\/var\/backups\)$/],
    [{ source: 'db1', hostPath: '/var/lib/docker/volumes', instanceId: INSTANCE }, 'hostPath', /is inside a system directory \(\/var\/lib\/docker\)$/],
    [{ source: 'db1', hostPath: '/lib64/x', instanceId: INSTANCE }, 'hostPath', /is inside a system directory \(\/lib\*\)$/],
    [{ source: 'db1', hostPath: '/etc/ssl', instanceId: INSTANCE }, 'hostPath', /is inside a system directory \(\/etc\)$/],
    [{ source: 'db1', volume: 'pgdata', instanceId: 'i-1' }, 'instanceId', /instance or managed node id/],
    [{ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, containerName: 'db;reboot' }, 'containerName', /Docker container name/],
    [{ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, consistency: 'freeze' }, 'consistency', /must be one of pause, stop, none/],
    [{ source: 'db 1', volume: 'pgdata', instanceId: INSTANCE }, 'source', /host or application name/],
    [{ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, bucket: 'elsewhere' }, '', /Unrecognized key/],
  ])('%j is refused on %s', (body, field, message) => {
    const parsed = BackupRequest.safeParse(body);
    expect(parsed.success).toBe(false);
    const issue = parsed.error?.issues.find((i) => i.path.join('.') === field);
    expect(issue?.message, JSON.stringify(parsed.error?.issues)).toMatch(message);
  });

  it.each(['/srv/pgdata', '/data/pg/main', '/var/lib/postgresql/data', '/srv/lib', '/var/library/x'])('takes the data directory %s as hostPath', (hostPath) => {
    expect(BackupRequest.safeParse({ source: 'db1', hostPath, instanceId: INSTANCE }).success).toBe(true);
  });

  it("each field's pattern is the document parameter's it becomes (empty allowed only where the document defaults it)", () => {
    const optional = (p: RegExp): string => `^(${p.source.slice(1, -1)})?$`;
    const doc = (name: string): string => new RegExp(document.parameters[name]?.allowedPattern ?? '').source;
    expect(doc('VolumeName')).toBe(optional(VOLUME_PATTERN));
    expect(doc('HostPath')).toBe(optional(BACKUP_HOST_PATH_PATTERN));
    expect(doc('ContainerName')).toBe(optional(CONTAINER_PATTERN));
    expect(doc('MountPath')).toBe(MOUNT_PATH_PATTERN.source);
    expect(doc('Source')).toBe(SOURCE_PATTERN.source);
    expect(new RegExp(doc('Consistency')).test('pause') && new RegExp(doc('Consistency')).test('stop') && new RegExp(doc('Consistency')).test('none')).toBe(
      true,
    );
    expect(INSTANCE_ID_PATTERN.test(INSTANCE)).toBe(true);
  });
});

describe('BackupService through the SSM adapter (request shapes)', () => {
  let tags: Tags;
  let service: BackupService;

  beforeEach(() => {
    ssmMock.reset();
    logsMock.reset();
    tags = new Tags();
    const runner = new SsmCommandRunner(new SSMClient({ region: 'eu-west-1' }), new CloudWatchLogsClient({ region: 'eu-west-1' }), {
      restoreDocumentName: 'Lifeboat-Restore',
      backupDocumentName: DOCUMENT,
      outputLogGroup: '/lifeboat/commands',
      ec2Tags: tags,
    });
    service = new BackupService(
      { runner, instances: runner, newId: () => BACKUP_ID },
      {
        document,
        documentName: DOCUMENT,
        bucket: 'archives-bucket',
        prefix: 'archives',
        region: 'eu-west-1',
        helperImage: 'local/lifeboat-helper:1',
        protectedVolumes: PROTECTED,
      },
    );
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online', PlatformType: 'Linux', AgentVersion: '3.3.2746.0' }] });
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND } });
  });

  it("sends the backup document to that one instance with the stack's bucket, prefix, region and helper image, output to the log group", async () => {
    const started = await service.start(
      BackupRequest.parse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE, containerName: 'db', consistency: 'stop' }),
      'arn:aws:iam::123456789012:user/oncall',
    );
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: DOCUMENT,
      InstanceIds: [INSTANCE],
      Comment: `lifeboat backup ${BACKUP_ID} db1`,
      TimeoutSeconds: 600,
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: '/lifeboat/commands' },
      Parameters: {
        BackupId: [BACKUP_ID],
        VolumeName: ['pgdata'],
        HostPath: [''],
        ContainerName: ['db'],
        MountPath: ['/var/lib/postgresql/data'],
        Consistency: ['stop'],
        Bucket: ['archives-bucket'],
        KeyPrefix: ['archives'],
        Source: ['db1'],
        CompressionLevel: ['3'],
        HelperImage: ['local/lifeboat-helper:1'],
        S3EndpointUrl: [''],
        Region: ['eu-west-1'],
      },
    });
    expect(started).toMatchObject({
      backupId: BACKUP_ID,
      commandId: COMMAND,
      requestedBy: 'arn:aws:iam::123456789012:user/oncall',
      instanceId: INSTANCE,
      consistency: 'stop',
      destination: 's3://archives-bucket/archives/db1/pgdata/<UTC time>.tar.zst',
      target: { online: true, pingStatus: 'Online', sources: ['db1'] },
    });
  });

  it('without a container nothing is paused: consistency none is sent and said; a host directory is named by its last segment', async () => {
    const started = await service.start(BackupRequest.parse({ source: 'db1', hostPath: '/srv/pgdata', instanceId: INSTANCE }), 'me');
    expect(started).toMatchObject({
      consistency: 'none',
      volume: null,
      hostPath: '/srv/pgdata',
      destination: expect.stringContaining('/db1/pgdata/') as unknown,
    });
    expect(ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters).toMatchObject({
      Consistency: ['none'],
      VolumeName: [''],
      HostPath: ['/srv/pgdata'],
    });
  });

  it('an offline host is a 409 and a host that does not declare the source a 403; nothing is sent', async () => {
    const request = BackupRequest.parse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE });
    tags.value = 'billing,reports';
    await expect(service.start(request, 'me')).rejects.toMatchObject({
      statusCode: 403,
      message: expect.stringMatching(
        /may not back up source db1: it has lifeboat:sources="billing,reports", which does not list it; nothing was sent/,
      ) as unknown,
    });
    tags.value = undefined;
    await expect(service.start(request, 'me')).rejects.toMatchObject({
      statusCode: 403,
      message: expect.stringContaining('has no lifeboat:sources tag') as unknown,
    });
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'ConnectionLost' }] });
    await expect(service.start(request, 'me')).rejects.toMatchObject({
      statusCode: 409,
      message: expect.stringContaining('not online in SSM (ConnectionLost)') as unknown,
    });
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  /** The refusal a start ends with: status, message and the field it names. */
  const refusal = async (body: Record<string, unknown>): Promise<{ statusCode?: number; message: string; field?: string; problem?: string }> => {
    const error = (await service.start(BackupRequest.parse({ source: 'db1', instanceId: INSTANCE, ...body }), 'me').then(
      () => new Error('the backup was sent'),
      (e: unknown) => e,
    )) as { statusCode?: number; message: string; details?: { fields?: { field: string; problem: string }[] } };
    return { statusCode: error.statusCode, message: error.message, field: error.details?.fields?.[0]?.field, problem: error.details?.fields?.[0]?.problem };
  };

  it.each(['*', 'billing,*', ' * '])(
    'a host tagged lifeboat:sources=%j (a spare or DR host, which may hold any source) is a 403 naming instanceId; nothing is sent',
    async (tag) => {
      tags.value = tag;
      expect(await refusal({ volume: 'pgdata' })).toMatchObject({
        statusCode: 403,
        field: 'instanceId',
        message: expect.stringMatching(
          /may not back up source db1: it has lifeboat:sources="[^"]*\*", which does not name it: \* marks a spare or DR host.*nothing was sent/,
        ) as unknown,
      });
      expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    },
  );

  it.each(['db1,billing', 'db1,*'])('on a shared host (%s) a hostPath is a 403 naming hostPath; nothing is sent', async (tag) => {
    tags.value = tag;
    expect(await refusal({ hostPath: '/srv/pgdata' })).toMatchObject({
      statusCode: 403,
      field: 'hostPath',
      message: expect.stringContaining(`hostPath /srv/pgdata may not be backed up for source db1: instance ${INSTANCE} is shared`) as unknown,
      problem: expect.stringContaining('a host directory there may hold their data') as unknown,
    });
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it.each(['db1,billing', 'db1,*'])(
    'on a shared host (%s) a volume the stack does not protect for the source is a 403 naming volume and the protected ones; nothing is sent',
    async (tag) => {
      tags.value = tag;
      // billing's own volume, and a volume no one protects.
      for (const volume of ['ledger', 'scratch']) {
        expect(await refusal({ volume })).toMatchObject({
          statusCode: 403,
          field: 'volume',
          message: expect.stringMatching(
            new RegExp(
              `volume ${volume} may not be backed up for source db1: .* the stack does not protect ${volume} for db1; nothing was sent \\(protected for db1: pgdata, common`,
            ),
          ) as unknown,
        });
      }
      expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    },
  );

  it('on a shared host a volume name another source served there also protects is a 403 naming volume; on a host not serving that source it is sent', async () => {
    tags.value = 'db1,billing';
    expect(await refusal({ volume: 'common' })).toMatchObject({
      statusCode: 403,
      field: 'volume',
      message: expect.stringContaining('protects a volume of that name for billing too, so it may be theirs') as unknown,
    });
    tags.value = 'db1,*';
    expect(await refusal({ volume: 'common' })).toMatchObject({ statusCode: 403, field: 'volume' });
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    tags.value = 'db1,reports';
    await service.start(BackupRequest.parse({ source: 'db1', volume: 'common', instanceId: INSTANCE }), 'me');
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it.each(['pause', 'stop', 'none'])(
    "on a shared host a containerName (consistency %s) is a 403 naming containerName: another source's container is never paused or stopped; nothing is sent",
    async (consistency) => {
      tags.value = 'db1,billing';
      expect(await refusal({ volume: 'pgdata', containerName: 'billing-db', consistency })).toMatchObject({
        statusCode: 403,
        field: 'containerName',
        message: expect.stringContaining('Lifeboat cannot tell whose container it is') as unknown,
      });
      expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    },
  );

  it('on a shared host a volume the stack protects for the source is sent, as a live copy without a container', async () => {
    tags.value = 'billing, db1';
    const started = await service.start(BackupRequest.parse({ source: 'db1', volume: 'pgdata', instanceId: INSTANCE }), 'me');
    expect(started).toMatchObject({ volume: 'pgdata', containerName: null, consistency: 'none', target: { sources: ['billing', 'db1'] } });
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters).toMatchObject({
      VolumeName: ['pgdata'],
      ContainerName: [''],
      Source: ['db1'],
    });
  });

  it('on a host dedicated to the source any volume or host directory may be backed up, with its container stopped', async () => {
    tags.value = 'db1, db1';
    await service.start(BackupRequest.parse({ source: 'db1', volume: 'scratch', instanceId: INSTANCE, containerName: 'db', consistency: 'stop' }), 'me');
    await service.start(BackupRequest.parse({ source: 'db1', hostPath: '/srv/pgdata', instanceId: INSTANCE, containerName: 'db' }), 'me');
    expect(ssmMock.commandCalls(SendCommandCommand).map((c) => c.args[0].input.Parameters)).toMatchObject([
      { VolumeName: ['scratch'], ContainerName: ['db'], Consistency: ['stop'] },
      { HostPath: ['/srv/pgdata'], ContainerName: ['db'], Consistency: ['pause'] },
    ]);
  });

  it("the comment fits SSM's 100 characters with the longest source", () => {
    expect(backupComment(BACKUP_ID, 'a'.repeat(63)).length).toBeLessThanOrEqual(100);
  });

  it('status: running, then the result line of a finished backup (read only once it has ended)', async () => {
    const invocation = { CommandId: COMMAND, InstanceId: INSTANCE, DocumentName: DOCUMENT, Comment: `lifeboat backup ${BACKUP_ID} db1` };
    ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ ...invocation, Status: 'InProgress' }] });
    expect(await service.status('db1', COMMAND)).toEqual({
      commandId: COMMAND,
      source: 'db1',
      backupId: BACKUP_ID,
      instanceId: INSTANCE,
      status: 'InProgress',
      statusDetails: null,
      done: false,
      result: null,
      problem: null,
    });
    expect(ssmMock).not.toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(ssmMock).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { CommandId: COMMAND });

    ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ ...invocation, Status: 'Success', StatusDetails: 'Success' }] });
    ssmMock
      .on(GetCommandInvocationCommand, { CommandId: COMMAND, InstanceId: INSTANCE })
      .resolves({ Status: 'Success', StatusDetails: 'Success', StandardOutputContent: `${JSON.stringify(result('succeeded'))}\n` });
    const done = await service.status('db1', COMMAND);
    expect(done).toMatchObject({
      status: 'Success',
      done: true,
      problem: null,
      result: { outcome: 'succeeded', archiveKey: 'archives/db1/pgdata/20261201T224500Z.tar.zst' },
    });
  });

  it('status: output beyond 24 000 characters is read from the log stream of the backupVolume step', async () => {
    ssmMock.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [{ CommandId: COMMAND, InstanceId: INSTANCE, DocumentName: DOCUMENT, Comment: `lifeboat backup ${BACKUP_ID} db1`, Status: 'Failed' }],
    });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', StandardOutputContent: 'x'.repeat(24_000) });
    logsMock.on(GetLogEventsCommand).resolves({ events: [{ message: 'noise' }, { message: JSON.stringify(result('failed')) }] });
    const status = await service.status('db1', COMMAND);
    expect(logsMock).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: '/lifeboat/commands',
      logStreamName: `${COMMAND}/${INSTANCE}/backupVolume/stdout`,
      startFromHead: false,
    });
    expect(status).toMatchObject({ done: true, result: { outcome: 'failed', error: 'volume pgdata does not exist on this host' } });
  });

  it("status: another source's backup, or another document's command, is not found here; their output is never read", async () => {
    ssmMock.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        { CommandId: COMMAND, InstanceId: INSTANCE, DocumentName: DOCUMENT, Comment: `lifeboat backup ${BACKUP_ID} billing`, Status: 'Success' },
      ],
    });
    await expect(service.status('db1', COMMAND)).rejects.toMatchObject({ statusCode: 404, message: `no backup command ${COMMAND} of source db1` });
    ssmMock.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        { CommandId: COMMAND, InstanceId: INSTANCE, DocumentName: 'Lifeboat-Restore', Comment: `lifeboat backup ${BACKUP_ID} db1`, Status: 'Success' },
      ],
    });
    await expect(service.status('db1', COMMAND)).rejects.toMatchObject({ statusCode: 404 });
    expect(ssmMock).not.toHaveReceivedCommand(GetCommandInvocationCommand);
  });

  it('status: no invocation listed yet is Pending; an ended command without a result line says so', async () => {
    ssmMock.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
    expect(await service.status('db1', COMMAND)).toMatchObject({ status: 'Pending', done: false, instanceId: null });
    ssmMock.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        {
          CommandId: COMMAND,
          InstanceId: INSTANCE,
          DocumentName: DOCUMENT,
          Comment: `lifeboat backup ${BACKUP_ID} db1`,
          Status: 'TimedOut',
          StatusDetails: 'DeliveryTimedOut',
        },
      ],
    });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', StandardOutputContent: '' });
    expect(await service.status('db1', COMMAND)).toMatchObject({
      done: true,
      result: null,
      problem: 'the command ended TimedOut (DeliveryTimedOut) without a backup result line; its output is in the command-output log group',
    });
  });
});
