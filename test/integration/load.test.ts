/**
 * Threat: many callers at once (a pager storm, a retrying script) racing for the same
 * volumes; a failing SSM; a lost completion event. One restore per (instance, volume),
 * every refusal names the holder, and no lock outlives the work it protects.
 * The real restore API handler on S3- and DynamoDB-compatible servers; SSM mocked.
 */
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
  type SendCommandCommandInput,
} from '@aws-sdk/client-ssm';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SsmCommandStatus } from '#core/adapters/ssm-status.ts';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { completeRestore, type CompletionDeps } from '#core/restore/completion.ts';
import { sweep, type SweeperConfig } from '#core/restore/sweeper.ts';
import { apiEvent, startApiStack, type ApiStack } from '../support/api.ts';
import { resultLine } from '../support/restores.ts';

const ssmMock = mockClient(SSMClient);
const INSTANCES = ['1', '2', '3', '4', '5'].map((n) => `i-0000000000000000${n}`);
const VOLUMES = ['pgdata', 'ledger'];
/** 10 (instance, volume) targets. */
const TARGETS = INSTANCES.flatMap((instanceId) => VOLUMES.map((volume) => ({ instanceId, volume })));
const ARCHIVE_BYTES = 4096;
const SWEEP: SweeperConfig = { staleSeconds: 600, commandTimeoutSeconds: 7200, marginSeconds: 900 };
const PERIOD_MS = 5 * 60_000;

type Target = (typeof TARGETS)[number];
/** What SendCommand throws when SSM fails (not throttling, which the API answers with 429). */
const ssmDown = (): Error => Object.assign(new Error('SSM is down'), { name: 'InternalServerError' });
const key = (t: Target): string => `${t.instanceId}/${t.volume}`;
const parse = (r: APIGatewayProxyResult): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;

describe('load: 100 concurrent restore requests over 10 targets (restore API handler on local S3/DynamoDB; SSM mocked)', () => {
  let stack: ApiStack;
  let completion: CompletionDeps;
  /** Command id -> the target it was sent to; what SSM will say of each command. */
  const sent = new Map<string, Target>();
  const ssmSays = new Map<string, string>();
  let failingInstances = new Set<string>();
  let sendAttempts = 0;

  const post = (t: Target): Promise<APIGatewayProxyResult> =>
    stack.api(
      apiEvent({
        bodyJson: { source: 'db1', volume: t.volume, archive: 'latest', instanceId: t.instanceId, containerName: 'db', allowUnverified: true },
        headers: { 'content-type': 'application/json' },
      }),
    );
  /** 100 requests at once, 10 per target, interleaved. */
  const storm = (): Promise<APIGatewayProxyResult[]> => Promise.all(Array.from({ length: 100 }, (_, i) => post(TARGETS[i % TARGETS.length] as Target)));
  const targetOf = (i: number): Target => TARGETS[i % TARGETS.length] as Target;
  /** The completion event of every command sent so far arrives (SSM: Success, the host's result line). */
  const completeAll = async (): Promise<void> => {
    await Promise.all(
      [...sent.keys()].map((commandId) => completeRestore(completion, { commandId, instanceId: sent.get(commandId)?.instanceId ?? '', status: 'Success' })),
    );
  };

  beforeAll(async () => {
    stack = await startApiStack();
    for (const volume of VOLUMES) {
      const archive = `archives/db1/${volume}/20261127T031500Z.tar.gz`;
      await stack.s3.put(archive, Buffer.alloc(ARCHIVE_BYTES));
      await ingestCreated({ store: stack.store, catalog: stack.catalog }, archive);
    }
    // Every target host declares it may receive db1.
    for (const instanceId of INSTANCES) stack.hostTags.tags.set(instanceId, { 'lifeboat:sources': 'db1' });
    completion = { catalog: stack.catalog, runner: stack.runner, notifier: { restoreFinished: () => Promise.resolve() } };
  }, 60_000);
  afterAll(async () => {
    await stack.close();
  });
  beforeEach(() => {
    ssmMock.reset();
    failingInstances = new Set();
    ssmMock.on(DescribeInstanceInformationCommand).callsFake((input: { Filters?: { Values?: string[] }[] }) => ({
      InstanceInformationList: [{ InstanceId: input.Filters?.[0]?.Values?.[0], PingStatus: 'Online', PlatformType: 'Linux' }],
    }));
    ssmMock.on(SendCommandCommand).callsFake((input: SendCommandCommandInput) => {
      sendAttempts++;
      const instanceId = input.InstanceIds?.[0] ?? '';
      if (failingInstances.has(instanceId)) return Promise.reject(ssmDown());
      const commandId = `cmd-${sendAttempts.toString()}`;
      sent.set(commandId, { instanceId, volume: input.Parameters?.VolumeName?.[0] ?? '' });
      ssmSays.set(commandId, 'Success');
      return Promise.resolve({ Command: { CommandId: commandId } });
    });
    ssmMock.on(GetCommandInvocationCommand).callsFake((input: { CommandId: string }) => {
      const status = ssmSays.get(input.CommandId) ?? 'InProgress';
      return { Status: status, StandardOutputContent: status === 'Success' ? resultLine('succeeded', { bytes: ARCHIVE_BYTES }) : 'extracting...\n' };
    });
    sent.clear();
  });

  it('exactly 10 commands, 90 × 409 naming the holder; after completion every target answers 202 again', async () => {
    const answers = await storm();
    const won = answers.map((r, i) => [r, targetOf(i)] as const).filter(([r]) => r.statusCode === 202);
    const refused = answers.map((r, i) => [r, targetOf(i)] as const).filter(([r]) => r.statusCode === 409);
    expect(
      answers.map((r) => r.statusCode).filter((c) => c !== 202 && c !== 409),
      answers.find((r) => r.statusCode >= 500)?.body,
    ).toEqual([]);
    expect(won).toHaveLength(10);
    expect(refused).toHaveLength(90);
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 10);
    // One winner per target, and every refusal names it.
    const holder = new Map(won.map(([r, t]) => [key(t), String(parse(r).restoreId)]));
    expect(holder.size).toBe(10);
    for (const [r, t] of refused) {
      const body = parse(r);
      expect(body.holdingRestore).toBe(holder.get(key(t)));
      expect(String(body.error)).toContain(`restore ${String(holder.get(key(t)))} is already running for volume ${t.volume} on ${t.instanceId}`);
    }

    await completeAll();
    for (const id of holder.values()) expect((await stack.catalog.getRestore(id))?.state).toBe('succeeded');
    const again = await Promise.all(TARGETS.map((t) => post(t)));
    expect(again.map((r) => r.statusCode)).toEqual(TARGETS.map(() => 202));
    await completeAll();
  });

  it('with SendCommand failing for half the targets, those answer 500, their locks are released and they answer 202 again', async () => {
    failingInstances = new Set(INSTANCES.slice(0, 2)); // 2 instances x 2 volumes, plus one volume of a third below
    const failing = (t: Target): boolean => failingInstances.has(t.instanceId);
    // Half: 4 targets on the two failing instances, and pgdata of the third is made to fail too.
    const thirdPgdata = { instanceId: INSTANCES[2] ?? '', volume: 'pgdata' };
    ssmMock.on(SendCommandCommand, { InstanceIds: [thirdPgdata.instanceId], Parameters: { VolumeName: ['pgdata'] } }).rejects(ssmDown());
    const isHalf = (t: Target): boolean => failing(t) || key(t) === key(thirdPgdata);
    const half = TARGETS.filter(isHalf);
    expect(half).toHaveLength(5);

    const answers = await storm();
    const byTarget = new Map<string, number[]>();
    answers.forEach((r, i) => byTarget.set(key(targetOf(i)), [...(byTarget.get(key(targetOf(i))) ?? []), r.statusCode]));
    for (const t of TARGETS) {
      const codes = byTarget.get(key(t)) ?? [];
      if (isHalf(t)) {
        expect(codes, key(t)).not.toContain(202);
        expect(
          codes.every((c) => c === 500 || c === 409),
          `${key(t)}: ${JSON.stringify(codes)}`,
        ).toBe(true);
        expect(codes).toContain(500);
      } else {
        expect(
          codes.filter((c) => c === 202),
          key(t),
        ).toHaveLength(1);
        expect(codes.filter((c) => c === 409)).toHaveLength(9);
      }
    }
    // A 500 says nothing of SSM's internals.
    for (const r of answers.filter((a) => a.statusCode === 500)) expect(r.body).not.toMatch(/InternalServerError|SSM is down/);

    // SSM recovers: every target that failed is free and answers 202 (no lock was left behind).
    ssmMock.on(SendCommandCommand, { InstanceIds: [thirdPgdata.instanceId], Parameters: { VolumeName: ['pgdata'] } }).callsFake(() => {
      sendAttempts++;
      const commandId = `cmd-${sendAttempts.toString()}`;
      sent.set(commandId, thirdPgdata);
      ssmSays.set(commandId, 'Success');
      return { Command: { CommandId: commandId } };
    });
    failingInstances = new Set();
    const retried = await Promise.all(half.map((t) => post(t)));
    expect(retried.map((r) => r.statusCode)).toEqual([202, 202, 202, 202, 202]);
    await completeAll();
  });

  it('with the completion event lost, the sweeper frees the target on its first run after the restore goes quiet; a restore SSM still runs keeps its lock', async () => {
    const t0 = new Date();
    const [lostTarget, busyTarget] = [TARGETS[0] as Target, TARGETS[1] as Target];
    const [lost, busy] = await Promise.all([post(lostTarget), post(busyTarget)]);
    expect([lost.statusCode, busy.statusCode]).toEqual([202, 202]);
    const busyCommand = String(parse(busy).commandId);
    ssmSays.set(busyCommand, 'InProgress');
    // No completion event ever arrives. The sweeper runs every 5 minutes (injected clock).
    const sweeper = { ...completion, ssm: new SsmCommandStatus(new SSMClient({ region: 'eu-west-1' }), 'Lifeboat-Restore') };
    let freedAt: number | undefined;
    for (let tick = 1; tick <= 6 && freedAt === undefined; tick++) {
      await sweep({ ...sweeper, now: () => new Date(t0.getTime() + tick * PERIOD_MS) }, SWEEP);
      if ((await post(lostTarget)).statusCode === 202) freedAt = tick * PERIOD_MS;
    }
    // Quiet for 10 minutes, noticed by the next run: freed within the stale threshold plus one period.
    expect(freedAt).toBeDefined();
    expect(freedAt).toBeLessThanOrEqual(SWEEP.staleSeconds * 1000 + PERIOD_MS);
    expect(await stack.catalog.getRestore(String(parse(lost).restoreId))).toMatchObject({ state: 'succeeded', commandStatus: 'Success' });
    // The host still writing: its target stays locked, and the refusal names the restore.
    const refused = await post(busyTarget);
    expect(refused.statusCode).toBe(409);
    expect(parse(refused).holdingRestore).toBe(parse(busy).restoreId);
  });
});
