import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ingestCreated } from '#core/catalog/ingest.ts';
import { completeRestore } from '#core/restore/completion.ts';
import { regionOf } from '#root/cli/api.ts';
import { main, type Io } from '#root/cli/main.ts';
import { JsonOutput } from '#root/cli/schema.ts';
import { BACKUP_DOCUMENT, routeEvent, startApiStack, type ApiStack } from '../support/api.ts';

// The CLI's API backend against a local HTTP server standing in for API Gateway with IAM
// auth: it checks each request's SigV4 signature, then hands it to the real restore API
// (S3- and DynamoDB-compatible servers on 127.0.0.1; SSM, which has no local server, mocked).
const ssmMock = mockClient(SSMClient);
const INSTANCE = 'i-0123456789abcdef0';
const KEY = 'archives/db1.prod/pgdata/20261127T031500Z.tar.gz';
/** An archive with a manifest (a container spec to drill with). */
const LEDGER = 'archives/db1.prod/ledger/20261127T031500Z.tar.zst';
const CREDENTIALS = { accessKeyId: 'AKIDLIFEBOATTEST', secretAccessKey: 'lifeboat-test-secret' };
const REGION = 'eu-west-1';

interface Seen {
  method: string;
  path: string;
  signed: boolean;
  reason?: string;
}

/** Verifies a request's SigV4 signature the way API Gateway does: recompute it from what arrived. */
async function verify(req: IncomingMessage, body: string, port: number): Promise<string | undefined> {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([a-f0-9]{64})$/.exec(auth);
  if (!m) return 'no SigV4 Authorization header';
  const [, keyId, , region, service, signedHeaders = '', signature] = m;
  if (keyId !== CREDENTIALS.accessKeyId) return `unknown access key ${keyId ?? ''}`;
  if (region !== REGION || service !== 'execute-api') return `wrong scope ${region ?? ''}/${service ?? ''}`;
  const date = req.headers['x-amz-date'];
  if (typeof date !== 'string') return 'no X-Amz-Date';
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port.toString()}`);
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signer = new SignatureV4({ service: 'execute-api', region: REGION, sha256: Hash.bind(null, 'sha256'), credentials: CREDENTIALS });
  const signingDate = new Date(`${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`);
  const expected = await signer.sign(
    new HttpRequest({
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: url.pathname,
      query,
      headers,
      body: body === '' ? undefined : body,
    }),
    { signingDate },
  );
  const theirs = /Signature=([a-f0-9]{64})$/.exec(expected.headers.authorization ?? '')?.[1];
  return theirs === signature ? undefined : 'signature does not match';
}

function capture(): { io: Io; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough() as unknown as NodeJS.WriteStream;
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  (stderr as unknown as PassThrough).on('data', (c: Buffer) => (err += c.toString()));
  const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
  return { io: { stdout, stderr, stdin, env: {} }, out: () => out, err: () => err };
}

describe('lifeboat CLI against a deployed API (SigV4 checked by a local server)', () => {
  let stack: ApiStack;
  let server: Server;
  let base: string;
  const seen: Seen[] = [];
  let commands = 0;

  beforeAll(async () => {
    stack = await startApiStack(REGION);
    await stack.s3.put(KEY, Buffer.alloc(4096, 7));
    await ingestCreated(stack, KEY, { decoded: true });
    await stack.s3.put(LEDGER, Buffer.alloc(2048, 3));
    await stack.s3.put(
      `${LEDGER}.manifest.json`,
      JSON.stringify({
        lifeboat: 'archive-manifest',
        version: 1,
        archiveKey: LEDGER,
        createdAt: '2026-11-27T03:15:02Z',
        source: 'db1.prod',
        backupId: 'b-1',
        sha256: 'cd'.repeat(32),
        compression: 'zstd',
        compressedBytes: 2048,
        uncompressedBytes: 9000,
        fileCount: 12,
        consistency: 'pause',
        volume: { name: 'ledger', driver: 'local', driverOpts: null, labels: null },
        hostPath: null,
        mountPath: '/var/lib/postgresql/data',
        container: {
          name: '/ledger',
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
          ports: [],
        },
      }),
    );
    await ingestCreated(stack, LEDGER, { decoded: true });
    await ingestCreated(stack, `${LEDGER}.manifest.json`, { decoded: true });

    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        void (async () => {
          const port = (server.address() as AddressInfo).port;
          const url = new URL(req.url ?? '/', `http://127.0.0.1:${port.toString()}`);
          const reason = await verify(req, body, port);
          seen.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, signed: reason === undefined, reason });
          if (reason !== undefined) {
            res
              .writeHead(403, { 'content-type': 'application/json' })
              .end(JSON.stringify({ message: 'The request signature we calculated does not match the signature you provided.' }));
            return;
          }
          // API Gateway's REST proxy event for the IAM-authorized stage "prod".
          const path = url.pathname.replace(/^\/prod/, '');
          const event = routeEvent(req.method ?? 'GET', path, {
            queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : null,
            headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
            body: body === '' ? null : body,
          });
          const answer = await stack.api(event);
          res.writeHead(answer.statusCode, { 'content-type': 'application/json' }).end(answer.body);
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}/prod/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await stack.close();
  });
  beforeEach(() => {
    seen.length = 0;
    ssmMock.reset();
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolves({ InstanceInformationList: [{ InstanceId: INSTANCE, PingStatus: 'Online', PlatformType: 'Linux' }] });
    ssmMock.on(SendCommandCommand).callsFake(() => ({ Command: { CommandId: `cmd-${(++commands).toString()}` } }));
    stack.hostTags.tags.set(INSTANCE, { 'lifeboat:sources': 'db1.prod' });
    vi.stubEnv('AWS_ACCESS_KEY_ID', CREDENTIALS.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', CREDENTIALS.secretAccessKey);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    vi.stubEnv('AWS_PROFILE', '');
  });

  const lifeboat = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    const c = capture();
    const code = await main(['--api', base, '--region', REGION, ...args], c.io);
    return { code, out: c.out(), err: c.err() };
  };

  it('lists volumes and archives with signed requests (query strings included)', async () => {
    const volumes = await lifeboat('--json', 'volumes');
    expect(volumes.code, volumes.err).toBe(0);
    expect(JsonOutput.volumes.parse(JSON.parse(volumes.out)).volumes).toEqual([
      expect.objectContaining({ source: 'db1.prod', volume: 'ledger', newestKey: LEDGER }),
      expect.objectContaining({ source: 'db1.prod', volume: 'pgdata', newestKey: KEY }),
    ]);
    const ofSource = await lifeboat('--json', 'volumes', '--source', 'db1.prod');
    expect(JsonOutput.volumes.parse(JSON.parse(ofSource.out)).volumes).toHaveLength(2);
    expect(seen.map((s) => `${s.method} ${s.path}`).slice(0, 2)).toEqual(['GET /prod/volumes', 'GET /prod/sources/db1.prod/volumes']);

    const archives = await lifeboat('--json', 'archives', 'pgdata', '--before', '2026-11-27T04:00:00+00:00', '--limit', '5');
    expect(archives.code, archives.err).toBe(0);
    expect(JsonOutput.archives.parse(JSON.parse(archives.out))).toMatchObject({
      source: 'db1.prod',
      archives: [{ key: KEY, compression: 'gzip', hasManifest: false }],
    });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toContain(
      'GET /prod/sources/db1.prod/archives?volume=pgdata&before=2026-11-27T04%3A00%3A00%2B00%3A00&limit=5',
    );
    expect(
      seen.every((s) => s.signed),
      JSON.stringify(seen),
    ).toBe(true);
  });

  it('plans, restores and follows the restore to its end; the body is signed too', async () => {
    const plan = await lifeboat('--json', 'plan', 'pgdata', '--to', INSTANCE, '--container', 'db', '--allow-unverified');
    expect(plan.code, plan.err).toBe(0);
    expect(JsonOutput.plan.parse(JSON.parse(plan.out)).plan).toMatchObject({
      archive: { key: KEY },
      target: { instanceId: INSTANCE, online: true },
      // Never restored or drilled: nothing to predict from, and the plan says so.
      predicted: { seconds: null, basis: 'no restore or drill of db1.prod/pgdata recorded yet' },
    });
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);

    // The host finishes while the CLI polls: the completion handler records it.
    const finishing = vi.waitFor(
      async () => {
        const sent = ssmMock.commandCalls(SendCommandCommand)[0];
        if (!sent) throw new Error('not sent yet');
        const commandId = (await sent.returnValue).Command?.CommandId ?? '';
        const restoreId = sent.args[0].input.Parameters?.RestoreId?.[0] ?? '';
        ssmMock.on(GetCommandInvocationCommand).resolves({
          Status: 'Success',
          StandardOutputContent: JSON.stringify({
            lifeboat: 'restore-result',
            version: 1,
            restoreId,
            outcome: 'succeeded',
            failedPhase: null,
            error: null,
            volume: 'pgdata',
            hostPath: null,
            container: 'db',
            containerAction: 'restarted',
            bytes: 4096,
            sha256: null,
            compression: 'gzip',
            preservedVolume: null,
            rolledBack: false,
            verifyOutput: '1',
            phases: { preflight: 0.5, download: 1.5, extract: 0.5, swap: 0, start: 1, verify: 0.25 },
            totalSeconds: 3.75,
          }),
        });
        await completeRestore(stack, { commandId, instanceId: INSTANCE, status: 'Success' });
      },
      { timeout: 20_000, interval: 100 },
    );
    const restore = await lifeboat('--json', 'restore', 'pgdata', '--to', INSTANCE, '--container', 'db', '--yes', '--allow-unverified');
    await finishing;
    expect(restore.code, restore.err).toBe(0);
    const r = JsonOutput.restore.parse(JSON.parse(restore.out));
    expect(r.record).toMatchObject({ state: 'succeeded', totalSeconds: 3.75, requestedBy: expect.any(String) as unknown });
    expect(seen.filter((s) => s.method === 'POST').map((s) => `${s.path} ${String(s.signed)}`)).toEqual(Array(3).fill('/prod/sources/db1.prod/restores true'));

    // The completion kept the host's timings: the next plan predicts from them, phase by phase.
    const next = await lifeboat('plan', 'pgdata', '--to', INSTANCE, '--container', 'db', '--allow-unverified');
    expect(next.code, next.err).toBe(0);
    expect(next.out).toContain(
      'Time:      predicted 4 s (preflight 1 s, download 2 s, extract 1 s, start 1 s): median of 1 earlier restore/drill of db1.prod/pgdata (0.0 MB/s) scaled to 4096 bytes',
    );

    const status = await lifeboat('status', r.restoreId, '--source', 'db1.prod');
    expect(status.code, status.err).toBe(0);
    expect(status.out).toContain(`Restore ${r.restoreId}: SUCCEEDED`);
  });

  it('plan shows the engine, what runs and where the data mounts; --engine, --check and --expect-minimum reach the API', async () => {
    const shown = await lifeboat('plan', 'ledger', '--to', INSTANCE, '--container', 'ledger');
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain("Verify:    engine postgres (PostgreSQL): the archive's manifest names image postgres:15 (decided by the archive's image)");
    expect(shown.out).toContain('answers when `pg_isready -q -h /var/run/postgresql -U postgres` succeeds in the container');
    expect(shown.out).toContain('Mount:     /var/lib/postgresql/data (from the manifest)');

    const redis = await lifeboat(
      '--json',
      'plan',
      'ledger',
      '--to',
      INSTANCE,
      '--container',
      'ledger',
      '--engine',
      'redis',
      '--check',
      'DBSIZE',
      '--expect-minimum',
      '3',
    );
    expect(redis.code, redis.err).toBe(0);
    const plan = JsonOutput.plan.parse(JSON.parse(redis.out)).plan;
    expect(plan.parameters).toMatchObject({ Verify: 'redis', VerifyQuery: 'DBSIZE', ExpectMinimum: '3' });
    expect(plan.verification).toMatchObject({ engine: 'redis', from: 'request', check: { argv: ['redis-cli', '-e', 'DBSIZE'] } });
    expect(plan.verification.detail).toContain('postgres:15, which looks like postgres');

    // The old drill flag still works, on plans too.
    const old = await lifeboat('--json', 'plan', 'ledger', '--to', INSTANCE, '--container', 'ledger', '--check', 'select count(*) from t', '--expect-min', '5');
    expect(JsonOutput.plan.parse(JSON.parse(old.out)).plan.parameters).toMatchObject({ Verify: 'postgres', ExpectMinimum: '5' });
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });

  it.each([
    [['--engine', 'redis', '--check', 'FLUSHALL'], '--check redis checks must start with one of DBSIZE'],
    [['--engine', 'mongo'], '--engine must be one of postgres, mysql, redis, mongodb, custom, running, none, auto'],
    [['--engine', 'custom', '--health', 'sh -c id'], "--health is not taken from a request: custom commands come only from the volume's protect config"],
    [['--expect-minimum', '3'], '--expect-minimum needs a check whose answer is a number'],
    [['--expect-minimum', '-1'], '--expect-minimum must be a whole number from 0'],
  ])('a refused verification flag is exit 2 naming the flag, nothing sent: %j', async (flags, says) => {
    const out = await lifeboat('plan', 'ledger', '--to', INSTANCE, '--container', 'ledger', ...flags);
    expect(out.code).toBe(2);
    expect(out.err).toContain(says);
    expect(seen.filter((s) => s.method === 'POST')).toEqual([]);
  });

  it('without --container the plan is a data-only restore, and says so', async () => {
    const out = await lifeboat('plan', 'ledger', '--to', INSTANCE);
    expect(out.code, out.err).toBe(0);
    expect(out.out).toContain('Container: none: DATA-ONLY restore (the volume is filled; no container is stopped, started, created or verified)');
    expect(out.out).toContain('Verify:    engine none: a data-only restore starts no container, so nothing is verified (decided by a data-only restore)');
    const json = await lifeboat('--json', 'plan', 'ledger', '--to', INSTANCE);
    expect(JsonOutput.plan.parse(JSON.parse(json.out)).plan.parameters).toMatchObject({ ContainerName: '', Verify: 'none' });
  });

  it('starts a drill on demand through POST /sources/{source}/drills', async () => {
    const drill = await lifeboat('--json', 'drill', 'ledger', '--to', INSTANCE, '--check', 'select count(*) from t', '--timeout', '1');
    // The host never answers here: the CLI says so after its timeout, with the way to follow it.
    expect(drill.code).toBe(5);
    expect(drill.out).toContain('still sent');
    const sent = ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters;
    expect(sent).toMatchObject({ Mode: ['drill'], VerifyQuery: ['select count(*) from t'], ContainerImage: ['postgres:15'], IfVolumeExists: ['fail'] });
    expect(sent?.VolumeName?.[0]).toMatch(/^lifeboat-drill-/);
    expect(seen.find((s) => s.method === 'POST' && s.path === '/prod/sources/db1.prod/drills')?.signed).toBe(true);
  });

  it('maps refusals and bad credentials to exit codes with a way forward', async () => {
    // A second restore of a locked volume: 409 from the API, exit 4.
    const first = await lifeboat('--json', 'restore', 'pgdata', '--to', INSTANCE, '--container', 'db', '--no-wait', '--allow-unverified', '--yes');
    expect(first.code, first.err).toBe(0);
    const second = await lifeboat('restore', 'pgdata', '--to', INSTANCE, '--container', 'db', '--no-wait', '--allow-unverified', '--yes');
    expect(second.code, second.err).toBe(4);
    expect(second.err).toContain('is already running for volume pgdata');

    const missing = await lifeboat('status', 'r-zzzzzzzz-0badc0de', '--source', 'db1.prod');
    expect(missing.code).toBe(3);
    // A target that does not declare the source: 403 from the service (not from IAM), exit 4, nothing sent.
    stack.hostTags.tags.set(INSTANCE, { 'lifeboat:sources': 'billing' });
    const refused = await lifeboat('restore', 'ledger', '--to', INSTANCE, '--container', 'ledger', '--no-wait', '--yes');
    expect(refused.code, refused.err).toBe(4);
    expect(refused.err).toContain('may not receive source db1.prod');
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);

    // Wrong secret: the server's signature check fails, API Gateway answers 403.
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'not-the-secret');
    const denied = await lifeboat('volumes');
    expect(denied.code).toBe(5);
    expect(denied.err).toContain('execute-api:Invoke');
    expect(seen.at(-1)).toMatchObject({ signed: false, reason: 'signature does not match' });
  });

  it('cancels a restore through DELETE /sources/{source}/restores/{id}: SSM is asked, the answer says cancelling, again the same', async () => {
    const started = await lifeboat('--json', 'restore', 'ledger', '--to', INSTANCE, '--container', 'ledger', '--no-wait', '--yes');
    expect(started.code, started.err).toBe(0);
    const { restoreId } = JsonOutput.restore.parse(JSON.parse(started.out));
    const commandId = (await ssmMock.commandCalls(SendCommandCommand)[0]?.returnValue)?.Command?.CommandId;

    const noSource = await lifeboat('cancel', restoreId);
    expect(noSource.code).toBe(2);
    expect(noSource.err).toContain('--source is required');

    for (const attempt of [1, 2]) {
      const cancel = await lifeboat('--json', 'cancel', restoreId, '--source', 'db1.prod');
      expect(cancel.code, cancel.err).toBe(0);
      expect(JsonOutput.cancel.parse(JSON.parse(cancel.out)), `attempt ${attempt.toString()}`).toMatchObject({ restoreId, state: 'cancelling' });
    }
    expect(ssmMock).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: commandId, InstanceIds: [INSTANCE] });
    expect(seen.filter((s) => s.method === 'DELETE').map((s) => `${s.path} ${String(s.signed)}`)).toEqual(
      Array(2).fill(`/prod/sources/db1.prod/restores/${restoreId} true`),
    );
    expect(await stack.catalog.getRestore(restoreId)).toMatchObject({ state: 'sent', cancelRequestedBy: expect.any(String) as unknown });
    await stack.catalog.releaseLock(INSTANCE, 'ledger', restoreId);
  });

  describe('lifeboat backup with a deployed Lifeboat: POST /sources/{source}/backups, then its status until it ends', () => {
    const COMMAND = '0b6b7c6e-1f2a-4c3d-9e8f-001122334455';
    /** SSM's view of the backup command: the comment the API set, a status, and (once over) the host's result line. */
    const invocation = (status: string) => {
      const sent = ssmMock.commandCalls(SendCommandCommand).at(-1)?.args[0].input;
      return { CommandId: COMMAND, InstanceId: INSTANCE, DocumentName: BACKUP_DOCUMENT, Comment: sent?.Comment, Status: status };
    };
    const result = (backupId: string) => ({
      lifeboat: 'backup-result',
      version: 1,
      backupId,
      outcome: 'succeeded',
      failedPhase: null,
      error: null,
      volume: 'pgdata',
      hostPath: null,
      container: 'db',
      consistency: 'pause',
      bucket: 'lifeboat-archives',
      archiveKey: 'archives/db1.prod/pgdata/20261201T224500Z.tar.zst',
      manifestKey: 'archives/db1.prod/pgdata/20261201T224500Z.tar.zst.manifest.json',
      bytes: 4096,
      uncompressedBytes: 65536,
      fileCount: 12,
      sha256: 'ab'.repeat(32),
      compression: 'zstd',
      containerFrozenSeconds: 1.5,
      phases: { preflight: 0.5, archive: 2, manifest: 0.25 },
      totalSeconds: 2.75,
      pruneRisk: { notUsedByRunningContainer: [], unreferenced: [] },
    });
    beforeEach(() => {
      ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND } });
      // The host is running it at the first look, done at the second.
      ssmMock
        .on(ListCommandInvocationsCommand)
        .callsFakeOnce(() => ({ CommandInvocations: [invocation('InProgress')] }))
        .callsFake(() => ({ CommandInvocations: [invocation('Success')] }));
      ssmMock.on(GetCommandInvocationCommand).callsFake(() => {
        const backupId = ssmMock.commandCalls(SendCommandCommand).at(-1)?.args[0].input.Parameters?.BackupId?.[0] ?? '';
        return { Status: 'Success', StandardOutputContent: `${JSON.stringify(result(backupId))}\n` };
      });
    });

    it('runs the backup document on the host and waits for its result (the source from the catalog, every request signed)', async () => {
      const out = await lifeboat('backup', 'pgdata', '--to', INSTANCE, '--container', 'db');
      expect(out.code, out.err).toBe(0);
      expect(out.out).toContain('Backup of pgdata: SUCCEEDED');
      expect(out.out).toContain('archive archives/db1.prod/pgdata/20261201T224500Z.tar.zst');
      expect(out.err).toMatch(new RegExp(`Backup b-[a-z0-9]+-[a-f0-9]{8} sent to ${INSTANCE} \\(SSM command ${COMMAND}\\)`));
      expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, { DocumentName: BACKUP_DOCUMENT, InstanceIds: [INSTANCE] });
      expect(ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.Parameters).toMatchObject({
        Source: ['db1.prod'],
        VolumeName: ['pgdata'],
        ContainerName: ['db'],
        Consistency: ['pause'],
        Bucket: ['lifeboat-archives'],
        KeyPrefix: ['archives'],
        Region: [REGION],
      });
      expect(seen.map((s) => `${s.method} ${s.path} ${String(s.signed)}`)).toEqual([
        'GET /prod/volumes true',
        'POST /prod/sources/db1.prod/backups true',
        `GET /prod/sources/db1.prod/backups/${COMMAND} true`,
        `GET /prod/sources/db1.prod/backups/${COMMAND} true`,
      ]);
    });

    it('--no-wait --json answers what was sent; lifeboat status <command id> --source follows it', async () => {
      const sent = await lifeboat('--json', 'backup', 'pgdata', '--to', INSTANCE, '--source', 'db1.prod', '--consistency', 'stop', '--no-wait');
      expect(sent.code, sent.err).toBe(0);
      const { backup, status } = JsonOutput.backupSent.parse(JSON.parse(sent.out));
      expect(status).toBeNull();
      // No container named: nothing to stop, and the answer says so.
      expect(backup).toMatchObject({ commandId: COMMAND, source: 'db1.prod', consistency: 'none', statusUrl: `/sources/db1.prod/backups/${COMMAND}` });
      expect(seen.filter((s) => s.method === 'GET')).toEqual([]);

      const running = await lifeboat('status', COMMAND, '--source', 'db1.prod');
      expect(running.code, running.err).toBe(0);
      expect(running.out).toContain(`Backup ${backup.backupId} (SSM command ${COMMAND}) on ${INSTANCE}: InProgress`);
      const done = await lifeboat('--json', 'status', COMMAND, '--source', 'db1.prod');
      expect(JsonOutput.backupStatus.parse(JSON.parse(done.out)).status).toMatchObject({ done: true, result: { outcome: 'succeeded' } });
    });

    it('bad or missing flags are exit 2 naming the flag; a host that does not declare the source is exit 4; nothing is sent', async () => {
      const noTo = await lifeboat('backup', 'pgdata', '--source', 'db1.prod');
      expect(noTo.code).toBe(2);
      expect(noTo.err).toContain('--to is required: the instance that holds volume pgdata');
      const badTo = await lifeboat('backup', 'pgdata', '--source', 'db1.prod', '--to', 'i-1');
      expect(badTo.code).toBe(2);
      expect(badTo.err).toContain('--to must be an EC2 instance or managed node id');
      const noSource = await lifeboat('backup', 'unknownvol', '--to', INSTANCE);
      expect(noSource.code).toBe(2);
      expect(noSource.err).toContain('--source is required: the catalog has no archives of volume unknownvol');
      const noSourceStatus = await lifeboat('status', COMMAND);
      expect(noSourceStatus.code).toBe(2);

      stack.hostTags.tags.set(INSTANCE, { 'lifeboat:sources': 'billing' });
      const refused = await lifeboat('backup', 'pgdata', '--to', INSTANCE, '--source', 'db1.prod');
      expect(refused.code, refused.err).toBe(4);
      expect(refused.err).toContain('may not back up source db1.prod');
      // A spare or DR host (tagged *) may hold any source's data: never backed up into one source.
      stack.hostTags.tags.set(INSTANCE, { 'lifeboat:sources': '*' });
      const spare = await lifeboat('backup', 'pgdata', '--to', INSTANCE, '--source', 'db1.prod');
      expect(spare.code, spare.err).toBe(4);
      expect(spare.err).toContain('* marks a spare or DR host');
      expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    });
  });

  it('knows the region of an execute-api URL', () => {
    expect(regionOf(new URL('https://abc123.execute-api.ap-southeast-2.amazonaws.com/prod/'))).toBe('ap-southeast-2');
    expect(regionOf(new URL('https://example.com/'))).toBeUndefined();
  });
});
