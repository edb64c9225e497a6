import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListTagsForResourceCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import { SnsNotifier } from '#core/adapters/sns.ts';
import { DynamoDbCatalog } from '#core/catalog/dynamodb-catalog.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { ROOT } from '#core/paths.ts';
import { completeRestore } from '#core/restore/completion.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { apiEvent, routeEvent, startApiStack, type ApiStack, type FakeInstanceTags } from '../support/api.ts';
import type { LocalDynamo } from '#core/local/dynamodb.ts';
import type { LocalS3 } from '#core/local/s3.ts';

// SSM has no local server: it is the one AWS API mocked here. S3 and DynamoDB are real HTTP servers on 127.0.0.1.
const ssmMock = mockClient(SSMClient);
const snsMock = mockClient(SNSClient);
const INSTANCE = 'i-0123456789abcdef0';
const KEY = 'archives/db1/pgdata/20261127T031500Z.tar.zst';
const SHA = 'cd'.repeat(32);
const body = { source: 'db1', volume: 'pgdata', archive: 'latest', instanceId: INSTANCE, containerName: 'db' };
const parse = (r: APIGatewayProxyResult): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;

describe('restore API on S3- and DynamoDB-compatible servers (SSM mocked)', () => {
  let s3: LocalS3;
  let dynamo: LocalDynamo;
  let catalog: DynamoDbCatalog;
  let api: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
  let runner: SsmCommandRunner;
  let hostTags: FakeInstanceTags;
  let commands = 0;

  beforeAll(async () => {
    const stack = await startApiStack();
    ({ s3, dynamo, catalog, runner, api, hostTags } = stack);
    const { store } = stack;
    await s3.put(KEY, Buffer.alloc(2048));
    await s3.put(
      `${KEY}.manifest.json`,
      JSON.stringify({
        lifeboat: 'archive-manifest',
        version: 1,
        archiveKey: KEY,
        createdAt: '2026-11-27T03:15:02Z',
        source: 'db1',
        backupId: 'b-1',
        sha256: SHA,
        compression: 'zstd',
        compressedBytes: 2048,
        uncompressedBytes: 9000,
        fileCount: 12,
        consistency: 'pause',
        volume: { name: 'pgdata', driver: 'local', driverOpts: null, labels: null },
        hostPath: null,
        mountPath: '/var/lib/postgresql/data',
        container: {
          name: '/db',
          image: 'postgres:15',
          envNames: [],
          command: ['postgres'],
          shmSize: 268435456,
          restartPolicy: 'unless-stopped',
          networkMode: 'bridge',
          privileged: false,
          capAdd: null,
          pidMode: '',
          user: '',
          mounts: [],
          ports: ['127.0.0.1:5432:5432/tcp'],
        },
      }),
    );
    await ingestCreated({ store, catalog }, KEY);
  });
  afterAll(async () => {
    await s3.close();
    await dynamo.close();
  });
  beforeEach(() => {
    ssmMock.reset();
    snsMock.reset();
    // The target declares it may receive db1's archives.
    hostTags.tags.set(INSTANCE, { 'lifeboat:sources': 'db1' });
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online', PlatformType: 'Linux' }] });
    ssmMock.on(SendCommandCommand).callsFake(() => ({ Command: { CommandId: `cmd-${++commands}` } }));
  });

  const post = (b: unknown, headers: Record<string, string> = {}): Promise<APIGatewayProxyResult> =>
    api(apiEvent({ bodyJson: b, headers: { 'content-type': 'application/json', ...headers } }));

  it('dryRun answers the full plan and sends nothing', async () => {
    const res = await post({ ...body, dryRun: true });
    expect(res.statusCode).toBe(200);
    expect(parse(res)).toMatchObject({
      dryRun: true,
      plan: {
        archive: { key: KEY, sha256: SHA, size: 2048, compression: 'zstd', hasManifest: true },
        target: { instanceId: INSTANCE, online: true, pingStatus: 'Online' },
        existingVolume: expect.stringContaining('refused and nothing changes') as unknown,
        missingContainer: expect.stringContaining('created from postgres:15') as unknown,
      },
    });
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('POST /restores sends the restore document with exactly the parameters its patterns allow, and answers 202', async () => {
    const res = await post(body);
    expect(res.statusCode, res.body).toBe(202);
    const answer = parse(res) as { restoreId: string; statusUrl: string; commandId: string };
    expect(answer.statusUrl).toBe(`/sources/db1/restores/${answer.restoreId}`);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    const input = ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      DocumentName: 'Lifeboat-Restore',
      InstanceIds: [INSTANCE],
      Comment: `lifeboat restore ${answer.restoreId}`,
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: '/lifeboat/commands' },
    });
    const params = input?.Parameters ?? {};
    expect(params).toMatchObject({
      RestoreId: [answer.restoreId],
      VolumeName: ['pgdata'],
      ContainerName: ['db'],
      IfVolumeExists: ['fail'],
      ExpectedSha256: [SHA],
      ContainerImage: ['postgres:15'],
      ShmSize: ['268435456b'],
      RestartPolicy: ['unless-stopped'],
      ContainerPorts: ['127.0.0.1:5432:5432/tcp'],
      MountPath: ['/var/lib/postgresql/data'],
      // No engine given: the manifest's image (postgres:15) says PostgreSQL.
      Verify: ['postgres'],
      VerifyQuery: [''],
    });
    expect(params.ArchiveUrl?.[0]).toMatch(new RegExp(`^${s3.endpoint}/${s3.bucket}/${KEY}\\?.*X-Amz-Expires=900`));
    const restoreDoc = loadDocument('restore-volume');
    for (const [name, [value]] of Object.entries<string[]>(params)) {
      expect(new RegExp(restoreDoc.parameters[name]?.allowedPattern ?? '^$').test(value ?? ''), name).toBe(true);
    }
    expect(await catalog.getRestore(answer.restoreId)).toMatchObject({
      state: 'sent',
      commandId: answer.commandId,
      requestedBy: 'arn:aws:sts::123456789012:assumed-role/OnCall/oncall',
    });

    // The host reports back: the record tells the truth, the lock is released, a notification goes out.
    const stdout = `progress...\n${JSON.stringify({
      lifeboat: 'restore-result',
      version: 1,
      restoreId: answer.restoreId,
      outcome: 'succeeded',
      failedPhase: null,
      error: null,
      volume: 'pgdata',
      hostPath: null,
      container: 'db',
      containerAction: 'restarted',
      bytes: 2048,
      sha256: SHA,
      compression: 'zstd',
      preservedVolume: null,
      rolledBack: false,
      verifyOutput: '1',
      phases: { preflight: 0.5, download: 1.25, extract: 0.5, swap: 0, start: 1, verify: 0.25 },
      totalSeconds: 3.5,
    })}\n`;
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: stdout });
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const event = JSON.parse(readFileSync(join(ROOT, 'test/events/ssm/invocation-success.json'), 'utf8')) as { detail: Record<string, string> };
    const deps = { catalog, runner, notifier: new SnsNotifier(new SNSClient({ region: 'eu-west-1' }), 'arn:aws:sns:eu-west-1:123456789012:lifeboat') };
    const done = await completeRestore(deps, { commandId: answer.commandId, instanceId: event.detail['instance-id'] ?? '', status: event.detail.status ?? '' });
    expect(done).toMatchObject({ action: 'finished', record: { state: 'succeeded', totalSeconds: 3.5, phases: { download: 1.25 } } });
    expect(ssmMock).toHaveReceivedCommandWith(GetCommandInvocationCommand, { CommandId: answer.commandId, InstanceId: INSTANCE });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    // A duplicate event changes nothing and notifies no one.
    expect(await completeRestore(deps, { commandId: answer.commandId, instanceId: INSTANCE, status: 'Failed' })).toMatchObject({ action: 'duplicate' });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect((await catalog.getRestore(answer.restoreId))?.state).toBe('succeeded');
    // The lock is free again.
    expect((await post(body)).statusCode).toBe(202);
    await catalog.releaseLock(INSTANCE, 'pgdata', (await catalog.restoreIdForCommand(`cmd-${commands}`)) ?? '');
  });

  it('two concurrent requests for the same volume: one 202, one 409 naming the holder, one command', async () => {
    const [a, b] = await Promise.all([post(body), post(body)]);
    const codes = [a.statusCode, b.statusCode].sort();
    expect(codes).toEqual([202, 409]);
    const conflict = parse(a.statusCode === 409 ? a : b);
    const winner = parse(a.statusCode === 202 ? a : b);
    expect(conflict).toMatchObject({ holdingRestore: winner.restoreId });
    expect(String(conflict.error)).toContain('already running for volume pgdata');
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    await catalog.releaseLock(INSTANCE, 'pgdata', String(winner.restoreId));
  });

  it('a retried request with the same Idempotency-Key returns the same restore and sends no second command', async () => {
    const first = await post(body, { 'Idempotency-Key': 'pager-4711' });
    const again = await post(body, { 'idempotency-key': 'pager-4711' });
    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(202);
    expect(parse(again).restoreId).toBe(parse(first).restoreId);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    const other = await post({ ...body, ifVolumeExists: 'preserve' }, { 'Idempotency-Key': 'pager-4711' });
    expect(other.statusCode).toBe(422);
    await catalog.releaseLock(INSTANCE, 'pgdata', String(parse(first).restoreId));
  });

  it('SendCommand failing: a 500 without internals, the record says failed, the volume is free again', async () => {
    ssmMock.on(SendCommandCommand).rejects(new Error('InvalidDocument: internal detail'));
    const res = await post(body);
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('InvalidDocument');
    await expect(catalog.acquireLock(INSTANCE, 'pgdata', 'probe', 1)).resolves.toBeUndefined();
    await catalog.releaseLock(INSTANCE, 'pgdata', 'probe');
  });

  it('an offline instance is a 409 and nothing is sent or locked', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'ConnectionLost' }] });
    const res = await post(body);
    expect(res.statusCode).toBe(409);
    expect(String(parse(res).error)).toContain('not online in SSM (ConnectionLost)');
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it.each([
    [{ ...body, volume: 'pgdata; rm -rf /' }, 'volume'],
    [{ ...body, instanceId: 'i-XYZ' }, 'instanceId'],
    [{ ...body, archive: { before: 'yesterday' } }, 'archive'],
    [{ ...body, ifVolumeExists: 'overwrite' }, 'ifVolumeExists'],
    [{ ...body, privileged: true }, '(body)'],
  ])('bad input is a 400 naming the field (%#: %s)', async (b, field) => {
    const res = await post(b);
    expect(res.statusCode).toBe(400);
    const fields = (parse(res).fields as { field: string; problem: string }[]).map((f) => f.field);
    expect(fields.some((f) => f.startsWith(field))).toBe(true);
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it('no archive is a 404; GET routes answer', async () => {
    expect((await post({ ...body, volume: 'nothing' })).statusCode).toBe(404);
    expect((await post({ ...body, archive: { before: '2020-01-01T00:00:00Z' } })).statusCode).toBe(404);
    const archives = await api(routeEvent('GET', '/sources/db1/archives', { queryStringParameters: { volume: 'pgdata' } }));
    expect(parse(archives)).toMatchObject({ source: 'db1', archives: [{ key: KEY, hasManifest: true }] });
    const volumes = await api(routeEvent('GET', '/volumes'));
    expect(parse(volumes)).toMatchObject({ volumes: [{ source: 'db1', volume: 'pgdata', newestKey: KEY }] });
    const ofSource = await api(routeEvent('GET', '/sources/db1/volumes'));
    expect(parse(ofSource)).toMatchObject({ volumes: [{ source: 'db1', volume: 'pgdata' }] });
    expect(parse(await api(routeEvent('GET', '/sources/db2/volumes')))).toEqual({ volumes: [] });
    const missing = await api(routeEvent('GET', '/sources/db1/restores/r-zzz-00000000'));
    expect(missing.statusCode).toBe(404);
    const bad = await api(routeEvent('GET', '/sources/db1/restores/x', { pathParameters: { source: 'db1', id: '../../etc' } }));
    expect(bad.statusCode).toBe(400);
  });

  // Threat: a caller allowed only /sources/a/… (execute-api:Invoke scoped by path) acts on source b.
  describe('per-source scoping: the source in the path is the only one a request can reach', () => {
    it('a restore on /sources/a/… naming source b in its body is a 400 naming source: nothing is read, locked or sent', async () => {
      const res = await api(apiEvent({ path: '/sources/other/restores', pathParameters: { source: 'other' }, bodyJson: body }));
      expect(res.statusCode).toBe(400);
      expect(parse(res)).toMatchObject({ fields: [{ field: 'source', problem: expect.stringContaining('must be other') as unknown }] });
      expect(ssmMock).not.toHaveReceivedAnyCommand();
      await expect(catalog.acquireLock(INSTANCE, 'pgdata', 'probe', 1)).resolves.toBeUndefined();
      await catalog.releaseLock(INSTANCE, 'pgdata', 'probe');
      // The same body with no source goes to the path's source (here db1's own path).
      const plan = await api(apiEvent({ bodyJson: { ...body, source: undefined, dryRun: true } }));
      expect(plan.statusCode, plan.body).toBe(200);
    });

    it('a drill on /sources/a/… for source b is refused the same way', async () => {
      const res = await api(routeEvent('POST', '/sources/other/drills', { bodyJson: { source: 'db1', volume: 'pgdata', instanceId: INSTANCE } }));
      expect(res.statusCode).toBe(400);
      expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    });

    it('a restore of another source is not found under /sources/a/…: GET and DELETE change nothing', async () => {
      const started = parse(await post(body)) as { restoreId: string };
      const before = await catalog.getRestore(started.restoreId);
      for (const method of ['GET', 'DELETE']) {
        const res = await api(routeEvent(method, `/sources/other/restores/${started.restoreId}`));
        expect(res.statusCode, method).toBe(404);
        expect(String(parse(res).error)).toContain(`no restore ${started.restoreId} of source other`);
      }
      expect(await catalog.getRestore(started.restoreId)).toEqual(before);
      expect(ssmMock).not.toHaveReceivedCommand(CancelCommandCommand);
      const own = await api(routeEvent('GET', `/sources/db1/restores/${started.restoreId}`));
      expect(parse(own)).toMatchObject({ id: started.restoreId, source: 'db1', state: 'sent' });
      await catalog.releaseLock(INSTANCE, 'pgdata', started.restoreId);
    });

    it('archives are listed only under the path of their own source', async () => {
      const other = await api(routeEvent('GET', '/sources/other/archives', { queryStringParameters: { volume: 'pgdata' } }));
      expect(parse(other)).toMatchObject({ source: 'other', archives: [] });
      const smuggled = await api(routeEvent('GET', '/sources/other/archives', { queryStringParameters: { source: 'db1', volume: 'pgdata' } }));
      expect(smuggled.statusCode).toBe(400);
    });
  });

  // Threat: production data restored onto a box the caller can log into.
  describe('target hosts declare the sources they may receive (lifeboat:sources)', () => {
    it.each([
      ['has no lifeboat:sources tag', undefined, 'has no lifeboat:sources tag'],
      ['lists other sources only', 'db2, billing', 'has lifeboat:sources="db2,billing", which does not list it'],
      ['names a prefix of the source', 'db', 'which does not list it'],
    ])('a target that %s is refused with 403 naming the instance, the tag and the source; nothing locked or sent', async (_, tag, says) => {
      hostTags.tags.set(INSTANCE, tag === undefined ? {} : { 'lifeboat:sources': tag });
      for (const res of [await post(body), await api(routeEvent('POST', '/sources/db1/drills', { bodyJson: { volume: 'pgdata', instanceId: INSTANCE } }))]) {
        expect(res.statusCode, res.body).toBe(403);
        const error = String(parse(res).error);
        expect(error).toContain(`instance ${INSTANCE} may not receive source db1`);
        expect(error).toContain(says);
        expect(parse(res)).toMatchObject({ instanceId: INSTANCE, source: 'db1', tag: 'lifeboat:sources' });
      }
      expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
      await expect(catalog.acquireLock(INSTANCE, 'pgdata', 'probe', 1)).resolves.toBeUndefined();
      await catalog.releaseLock(INSTANCE, 'pgdata', 'probe');
    });

    it('a spare host (lifeboat:sources=*) or one listing the source receives it; the plan shows what it declares', async () => {
      // A shared host receives the source; on it, a restore touches nothing of anyone's only into a new
      // volume with no container (this stack's policy protects no volume: test/support/api.ts), so these are
      // data-only. Replacing a volume or restarting a container there: test/unit/shared-host-restore.test.ts.
      const dataOnly = { ...body, containerName: undefined };
      for (const tag of ['*', 'billing, db1']) {
        hostTags.tags.set(INSTANCE, { 'lifeboat:sources': tag });
        const res = await post({ ...dataOnly, dryRun: true });
        expect(res.statusCode, res.body).toBe(200);
        expect(parse(res)).toMatchObject({ plan: { target: { sources: tag.split(',').map((t) => t.trim()) } } });
        const withContainer = await post({ ...body, dryRun: true });
        expect(withContainer.statusCode, withContainer.body).toBe(403);
        expect(parse(withContainer)).toMatchObject({ fields: [{ field: 'containerName' }] });
      }
      const sent = parse(await post(dataOnly)) as { restoreId: string };
      expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
      await catalog.releaseLock(INSTANCE, 'pgdata', sent.restoreId);
    });
  });

  // Item 10: hybrid managed nodes (mi-…) are granted like EC2 instances (same tag condition), their tags read from SSM.
  describe('managed nodes (mi-…)', () => {
    const NODE = 'mi-0123456789abcdef0';

    it('an mi- node declaring the source is restored to: its tags come from SSM ListTagsForResource, SendCommand names it', async () => {
      ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: NODE, PingStatus: 'Online', PlatformType: 'Linux' }] });
      ssmMock.on(ListTagsForResourceCommand).resolves({
        TagList: [
          { Key: 'lifeboat:managed', Value: 'true' },
          { Key: 'lifeboat:sources', Value: 'db1' },
        ],
      });
      const res = await post({ ...body, instanceId: NODE });
      expect(res.statusCode, res.body).toBe(202);
      expect(ssmMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, { ResourceType: 'ManagedInstance', ResourceId: NODE });
      expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, { InstanceIds: [NODE] });
      expect(hostTags.calls).not.toContain(NODE); // never asked EC2 about a managed node
      await catalog.releaseLock(NODE, 'pgdata', String(parse(res).restoreId));
    });

    it('an mi- node without the tag is a 403, and an id SSM calls invalid is a 400 naming instanceId, never a 500', async () => {
      ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: NODE, PingStatus: 'Online', PlatformType: 'Linux' }] });
      ssmMock.on(ListTagsForResourceCommand).resolves({ TagList: [] });
      expect((await post({ ...body, instanceId: NODE })).statusCode).toBe(403);

      const invalid = Object.assign(new Error('Invalid instance id'), { name: 'InvalidInstanceInformationFilterValue' });
      ssmMock.on(DescribeInstanceInformationCommand).rejects(invalid);
      const res = await post({ ...body, instanceId: 'mi-0123abcd' });
      expect(res.statusCode, res.body).toBe(400);
      expect(parse(res)).toMatchObject({ fields: [{ field: 'instanceId' }] });
      expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    });
  });
});

describe('engines through the API: what SendCommand carries (SSM mocked)', () => {
  let engineCommands = 0;
  const SHOP = 'archives/db1/shop/20261127T031500Z.tar.zst';
  let stack: ApiStack;
  const post = (b: Record<string, unknown>): Promise<APIGatewayProxyResult> =>
    stack.api(apiEvent({ bodyJson: { source: 'db1', volume: 'shop', instanceId: INSTANCE, ...b }, headers: { 'content-type': 'application/json' } }));
  const sentParameters = (): Record<string, string[]> => ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters ?? {};

  beforeAll(async () => {
    stack = await startApiStack();
    // A MariaDB volume as backup-volume records it: the image, the mount path and the data directory's top-level names.
    await stack.s3.put(SHOP, Buffer.alloc(1024));
    await stack.s3.put(
      `${SHOP}.manifest.json`,
      JSON.stringify({
        lifeboat: 'archive-manifest',
        version: 1,
        archiveKey: SHOP,
        createdAt: '2026-11-27T03:15:02Z',
        source: 'db1',
        backupId: 'b-2',
        sha256: SHA,
        compression: 'zstd',
        compressedBytes: 1024,
        uncompressedBytes: 4000,
        fileCount: 9,
        consistency: 'stop',
        volume: { name: 'shop', driver: 'local', driverOpts: null, labels: null },
        hostPath: null,
        mountPath: '/var/lib/mysql',
        container: {
          name: '/shop-db',
          image: 'mariadb:10.11',
          envNames: ['MARIADB_ROOT_PASSWORD'],
          command: null,
          shmSize: 0,
          restartPolicy: 'unless-stopped',
          networkMode: 'bridge',
          privileged: false,
          capAdd: null,
          pidMode: '',
          user: '',
          mounts: [],
          ports: [],
        },
        dataMarkers: ['aria_log_control', 'ibdata1', 'mysql', 'shop'],
      }),
    );
    await ingestCreated(stack, SHOP);
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    ssmMock.reset();
    stack.hostTags.tags.set(INSTANCE, { 'lifeboat:sources': 'db1' });
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online', PlatformType: 'Linux' }] });
    ssmMock.on(SendCommandCommand).callsFake(() => ({ Command: { CommandId: `cmd-e${(++engineCommands).toString()}` } }));
  });

  it('a MariaDB archive restored with no engine given: the document is told mysql at /var/lib/mysql, and the 202 shows why', async () => {
    const res = await post({ containerName: 'shop-db' });
    expect(res.statusCode, res.body).toBe(202);
    const answer = parse(res) as { restoreId: string; plan: { verification: { engine: string; from: string; detail: string } } };
    expect(answer.plan.verification).toMatchObject({ engine: 'mysql', from: 'manifest-markers' });
    expect(answer.plan.verification.detail).toContain("the archive's data holds aria_log_control, ibdata1, mysql");
    expect(sentParameters()).toMatchObject({
      ContainerName: ['shop-db'],
      Verify: ['mysql'],
      VerifyUser: [''],
      VerifyQuery: [''],
      ExpectMinimum: [''],
      HealthCommand: [''],
      MountPath: ['/var/lib/mysql'],
      ShmSize: [''],
    });
    await stack.catalog.releaseLock(INSTANCE, 'shop', answer.restoreId);
  });

  it('a data-only restore (no containerName) sends ContainerName "" and Verify none', async () => {
    const res = await post({});
    expect(res.statusCode, res.body).toBe(202);
    expect(sentParameters()).toMatchObject({ ContainerName: [''], Verify: ['none'], VerifyQuery: [''], ContainerImage: [''] });
    expect((parse(res) as { plan: { dataOnly: boolean } }).plan.dataOnly).toBe(true);
    await stack.catalog.releaseLock(INSTANCE, 'shop', (parse(res) as { restoreId: string }).restoreId);
  });

  it('a check that is not read-only is a 400 naming check; custom commands in a request are a 400 naming health; nothing is sent', async () => {
    for (const [b, field, says] of [
      [{ containerName: 'shop-db', engine: 'mysql', check: "select 1 into outfile 'x'" }, 'check', 'may not write files'],
      [{ containerName: 'shop-db', engine: 'redis', check: 'FLUSHALL' }, 'check', 'redis checks must start with one of'],
      [{ containerName: 'shop-db', engine: 'custom', health: 'sh -c id' }, 'health', "only from the volume's protect config"],
      [{ check: 'select 1' }, 'check', 'data-only restore'],
    ] as const) {
      const res = await post(b);
      expect(res.statusCode, res.body).toBe(400);
      expect(parse(res).fields).toEqual([{ field, problem: expect.stringContaining(says) as unknown }]);
    }
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });
});
