/**
 * `POST /sources/{source}/backups` wired as in the Lambda on a DynamoDB-compatible server
 * (the idempotency table is real; SSM, which has no local server, is mocked): a retry with
 * the same Idempotency-Key gets the same command and never sends a second one; the same key
 * with another body is refused; a key used for a restore and for a backup are two keys; a
 * host that may not be backed up for the source is a 403 naming the field, nothing sent.
 */
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { BACKUP_DOCUMENT, routeEvent, startApiStack, type ApiStack } from '../support/api.ts';

const ssmMock = mockClient(SSMClient);
const INSTANCE = 'i-0123456789abcdef0';
const KEY = 'archives/db1/pgdata/20261127T031500Z.tar.gz';
const parse = (r: APIGatewayProxyResult): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;

describe('backup API on a DynamoDB-compatible server (SSM mocked)', () => {
  let stack: ApiStack;
  let commands = 0;
  const post = (body: unknown, key?: string, source = 'db1') =>
    stack.api(
      routeEvent('POST', `/sources/${source}/backups`, {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
      }),
    );

  beforeAll(async () => {
    stack = await startApiStack();
    await stack.s3.put(KEY, Buffer.alloc(1024, 1));
    await ingestCreated(stack, KEY, { decoded: true });
  });
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    ssmMock.reset();
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online', PlatformType: 'Linux' }] });
    ssmMock.on(SendCommandCommand).callsFake(() => ({ Command: { CommandId: `00000000-0000-4000-8000-${(++commands).toString().padStart(12, '0')}` } }));
    stack.hostTags.tags.set(INSTANCE, { 'lifeboat:sources': 'db1' });
  });

  it('the same Idempotency-Key gets the same backup and one command; another body with it is a 422', async () => {
    const body = { volume: 'pgdata', instanceId: INSTANCE, containerName: 'db' };
    const first = await post(body, 'oncall-2026-12-01-1');
    const again = await post(body, 'oncall-2026-12-01-1');
    expect(first.statusCode, first.body).toBe(202);
    expect(again.statusCode, again.body).toBe(202);
    expect(parse(again)).toEqual(parse(first));
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);

    const other = await post({ ...body, consistency: 'stop' }, 'oncall-2026-12-01-1');
    expect(other.statusCode).toBe(422);
    expect(parse(other).error).toBe('this Idempotency-Key was already used with a different request');
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);

    // Without a key every request is a new backup.
    await post(body);
    await post(body);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 3);
  });

  it('a key used for a restore is another key for a backup: both are sent', async () => {
    const restore = await stack.api(
      routeEvent('POST', '/sources/db1/restores', {
        body: JSON.stringify({ volume: 'pgdata', instanceId: INSTANCE, containerName: 'db', allowUnverified: true }),
        headers: { 'content-type': 'application/json', 'Idempotency-Key': 'shared-key' },
      }),
    );
    expect(restore.statusCode, restore.body).toBe(202);
    const backup = await post({ volume: 'pgdata', instanceId: INSTANCE }, 'shared-key');
    expect(backup.statusCode, backup.body).toBe(202);
    expect(parse(backup).backupId).toMatch(/^b-/);
    expect(ssmMock.commandCalls(SendCommandCommand).map((c) => c.args[0].input.DocumentName)).toEqual(['Lifeboat-Restore', BACKUP_DOCUMENT]);
    await stack.catalog.releaseLock(INSTANCE, 'pgdata', String(parse(restore).restoreId));
  });

  it('a backup to a host tagged *, or of a host directory, an unprotected volume or a container on a shared host, is a 403 naming the field; nothing is sent', async () => {
    stack.hostTags.tags.set(INSTANCE, { 'lifeboat:sources': '*' });
    const spare = await post({ volume: 'pgdata', instanceId: INSTANCE });
    expect(spare.statusCode, spare.body).toBe(403);
    expect(parse(spare)).toMatchObject({
      error: expect.stringContaining('* marks a spare or DR host, which may hold any source') as unknown,
      fields: [{ field: 'instanceId', problem: 'must be a host whose lifeboat:sources tag names db1' }],
      declaredSources: ['*'],
    });
    // This API protects no volume (no protect entries): on a shared host nothing may be backed up.
    stack.hostTags.tags.set(INSTANCE, { 'lifeboat:sources': 'db1,billing' });
    for (const [body, field] of [
      [{ hostPath: '/srv/billing', instanceId: INSTANCE }, 'hostPath'],
      [{ volume: 'ledger', instanceId: INSTANCE, containerName: 'billing-db', consistency: 'stop' }, 'volume'],
    ] as const) {
      const answer = await post(body, 'shared-host-key');
      expect(answer.statusCode, answer.body).toBe(403);
      expect((parse(answer).fields as { field: string }[])[0]?.field).toBe(field);
    }
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it("status through the path's source only: the same command under another source is a 404", async () => {
    const started = parse(await post({ volume: 'pgdata', instanceId: INSTANCE }));
    const commandId = String(started.commandId);
    const comment = ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Comment;
    expect(comment).toBe(`lifeboat backup ${String(started.backupId)} db1`);
    ssmMock
      .on(ListCommandInvocationsCommand)
      .resolves({ CommandInvocations: [{ CommandId: commandId, InstanceId: INSTANCE, DocumentName: BACKUP_DOCUMENT, Comment: comment, Status: 'Failed' }] });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', StandardOutputContent: 'docker: not found\n' });
    const mine = await stack.api(routeEvent('GET', `/sources/db1/backups/${commandId}`));
    expect(mine.statusCode, mine.body).toBe(200);
    expect(parse(mine)).toMatchObject({
      status: 'Failed',
      done: true,
      result: null,
      problem: expect.stringContaining('without a backup result line') as unknown,
    });
    const theirs = await stack.api(routeEvent('GET', `/sources/billing/backups/${commandId}`));
    expect(theirs.statusCode).toBe(404);
    expect(parse(theirs).error).toBe(`no backup command ${commandId} of source billing`);
  });
});
