/**
 * Threat: a caller (or a tampered object in S3, or a lying host) feeds Lifeboat
 * input built to run something, reach something, or crash a handler. Each
 * boundary gets the corpus of known-nasty strings and a fast-check property:
 * a clear error naming the field, or a value made only of allowed characters;
 * never a 5xx, never a command sent, never a write.
 */
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeEventKey, parseArchiveKey, SOURCE_PATTERN, VOLUME_PATTERN } from '#core/archive-key.ts';
import { ArchiveManifest, recreateParameters, UnsafeSpecError } from '#core/manifest.ts';
import { ROOT } from '#core/paths.ts';
import { DrillRequest, RestoreRequest } from '#core/restore/schemas.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { resolveParameters } from '#core/runbooks/parameters.ts';
import { BackupResult, parseResultLine, RestoreResult } from '#core/runbooks/results.ts';
import { bundledDocumentsDir } from '#root/lib/lifeboat-function.ts';
import { NASTY } from '../support/nasty.ts';

/** Characters a validated value may carry to the host: no shell or SSM metacharacters, no whitespace. */
const SAFE = /^[A-Za-z0-9_.:/@=+,-]*$/;

const dynamoMock = mockClient(DynamoDBDocumentClient);
const ssmMock = mockClient(SSMClient);
const context = { awsRequestId: 'req-hostile', functionName: 'restore-api', getRemainingTimeInMillis: () => 20_000 } as unknown as Context;
const base = JSON.parse(readFileSync(join(ROOT, 'test/events/apigw/post-source-restores.json'), 'utf8')) as APIGatewayProxyEvent;
const GOOD = { source: 'db1', ...(JSON.parse(base.body ?? '{}') as Record<string, unknown>) };
const event = (changes: Partial<APIGatewayProxyEvent>): APIGatewayProxyEvent => ({ ...base, ...changes });
const fieldsOf = (res: APIGatewayProxyResult): string[] => ((JSON.parse(res.body) as { fields?: { field: string }[] }).fields ?? []).map((f) => f.field);

describe('hostile input at the API (POST /sources/{source}/restores and /drills, GET /sources/{source}/archives, GET and DELETE /sources/{source}/restores/{id})', () => {
  let handler: (e: APIGatewayProxyEvent, c: Context) => Promise<APIGatewayProxyResult>;

  beforeAll(async () => {
    Object.assign(process.env, {
      TABLE_NAME: 'catalog',
      IDEMPOTENCY_TABLE_NAME: 'idem',
      BUCKET_NAME: 'archives-bucket',
      ARCHIVE_PREFIX: 'archives',
      LIFEBOAT_POLICY: '{}',
      RESTORE_DOCUMENT_NAME: 'Lifeboat-Restore',
      CANCEL_DOCUMENT_NAME: 'Lifeboat-Cancel',
      OUTPUT_LOG_GROUP: '/lifeboat/out',
      HELPER_IMAGE: 'local/lifeboat-helper:1',
      LIFEBOAT_RUNBOOKS_DIR: bundledDocumentsDir(join(tmpdir(), 'lifeboat-unit-documents')),
      POWERTOOLS_LOG_LEVEL: 'CRITICAL',
      POWERTOOLS_METRICS_NAMESPACE: 'Lifeboat',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    ({ handler } = await import('#root/functions/restore-api/index.ts'));
  });
  beforeEach(() => {
    dynamoMock.reset();
    ssmMock.reset();
    // An empty catalog: a well-formed request finds no archive (404); nothing here may reach a write.
    dynamoMock.on(GetCommand).resolves({});
    dynamoMock.on(QueryCommand).resolves({ Items: [] });
  });
  const nothingChanged = (): void => {
    expect(ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    // The idempotency layer may record an in-progress marker, and only for a valid request; nothing else is written.
    const writes = dynamoMock
      .calls()
      .map((c) => c.args[0])
      .filter((cmd) => cmd instanceof PutCommand || cmd instanceof UpdateCommand || cmd instanceof DeleteCommand);
    expect(writes.filter((cmd) => (cmd.input as { TableName?: string }).TableName !== 'idem')).toHaveLength(0);
  };

  const restoreFields = ['source', 'volume', 'instanceId', 'containerName', 'mountPath', 'containerEnvFile', 'archive', 'ifVolumeExists', 'engine'] as const;
  it.each(restoreFields)('POST /sources/{source}/restores: every nasty %s is a 400 naming the field, or a value of allowed characters only', async (field) => {
    for (const bad of NASTY) {
      const body = { ...GOOD, [field]: bad };
      const res = await handler(event({ body: JSON.stringify(body) }), context);
      const accepted = RestoreRequest.safeParse(body);
      if (accepted.success) {
        const value = (accepted.data as Record<string, unknown>)[field];
        expect(typeof value === 'string' ? value : JSON.stringify(value), `${field}=${JSON.stringify(bad)}`).toMatch(SAFE);
        expect(res.statusCode).toBeLessThan(500);
      } else {
        expect(res.statusCode, `${field}=${JSON.stringify(bad)}: ${res.body}`).toBe(400);
        expect(
          fieldsOf(res).some((f) => f === field || f.startsWith(`${field}.`)),
          res.body,
        ).toBe(true);
      }
      nothingChanged();
    }
  });

  it('POST /sources/{source}/drills: a nasty check, engine, env file is a 400 naming the field', async () => {
    for (const field of ['check', 'engine', 'containerEnvFile', 'volume', 'instanceId'] as const) {
      for (const bad of NASTY) {
        const body = { source: 'db1', volume: 'pgdata', instanceId: 'i-0123456789abcdef0', [field]: bad };
        if (DrillRequest.safeParse(body).success) continue;
        const res = await handler(event({ resource: '/sources/{source}/drills', body: JSON.stringify(body) }), context);
        expect(res.statusCode, `${field}=${JSON.stringify(bad)}`).toBe(400);
        expect(fieldsOf(res)).toContain(field);
      }
    }
    nothingChanged();
  });

  it('any JSON body at all: never a 5xx, never a command (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            { source: fc.string(), volume: fc.string(), instanceId: fc.string(), containerName: fc.string(), archive: fc.jsonValue() },
            { requiredKeys: [] },
          ),
        ),
        async (body) => {
          for (const resource of ['/sources/{source}/restores', '/sources/{source}/drills']) {
            const res = await handler(event({ resource, body: JSON.stringify(body) }), context);
            expect(res.statusCode).toBeLessThan(500);
          }
          nothingChanged();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a body that is not JSON, or is huge, is a 400', async () => {
    for (const body of ['{', 'null', '[]', '"x"', '{"source":'.padEnd(200_000, 'a')]) {
      const res = await handler(event({ body }), context);
      expect(res.statusCode, body.slice(0, 20)).toBe(400);
    }
    nothingChanged();
  });

  it('GET /sources/{source}/archives: any source and query string is a 400 naming the field or a read of a well-formed volume (property)', async () => {
    const anything = fc.oneof(fc.constantFrom(...NASTY), fc.string());
    await fc.assert(
      fc.asyncProperty(anything, fc.dictionary(fc.constantFrom('source', 'volume', 'before', 'limit', 'x'), anything), async (source, query) => {
        dynamoMock.resetHistory();
        const res = await handler(
          event({ httpMethod: 'GET', resource: '/sources/{source}/archives', body: null, pathParameters: { source }, queryStringParameters: query }),
          context,
        );
        expect([200, 400]).toContain(res.statusCode);
        for (const call of dynamoMock.commandCalls(QueryCommand)) {
          const pk = String((call.args[0].input.ExpressionAttributeValues as Record<string, unknown>)[':pk']);
          const [, source, volume] = pk.split('#');
          expect(source).toMatch(SAFE);
          expect(volume).toMatch(SAFE);
          expect(`${String(source)}/${String(volume)}`).not.toMatch(/\.\./);
        }
      }),
      { numRuns: 150 },
    );
    nothingChanged();
  });

  it('GET and DELETE /sources/{source}/restores/{id}: a nasty id or source is a 400 and never reaches DynamoDB or SSM', async () => {
    for (const method of ['GET', 'DELETE']) {
      for (const [source, id] of [...NASTY.map((n) => ['db1', n]), ...NASTY.filter((n) => !SOURCE_PATTERN.test(n)).map((n) => [n, 'r-abc-12345678'])]) {
        dynamoMock.resetHistory();
        const res = await handler(
          event({ httpMethod: method, resource: '/sources/{source}/restores/{id}', body: null, pathParameters: { source, id } }),
          context,
        );
        expect(res.statusCode, `${method} ${String(source)} ${String(id)}`).toBe(400);
        expect(dynamoMock.calls()).toHaveLength(0);
        expect(ssmMock.calls()).toHaveLength(0);
      }
    }
  });

  it('a nasty source in the path is a 400 naming source, whatever the body says, and nothing is read', async () => {
    for (const source of NASTY) {
      dynamoMock.resetHistory();
      const res = await handler(event({ pathParameters: { source }, body: JSON.stringify(GOOD) }), context);
      expect(res.statusCode, source).toBe(400);
      expect(fieldsOf(res)).toContain('source');
      expect(dynamoMock.calls()).toHaveLength(0);
    }
    nothingChanged();
  });
});

describe('hostile S3 keys arriving in events', () => {
  it('spaces, unicode, .., URL-encoding tricks and very long keys are skipped with a reason; accepted keys are clean', () => {
    const tricks = [
      ...NASTY,
      'archives/db1/pg%2Fdata/20261127T031500Z.tar.zst',
      'archives/db1/..%2F..%2Fetc/20261127T031500Z.tar.zst',
      'archives/db1/pgdata/20261127T031500Z.tar.zst%00.sh',
      'archives/db1/pg+data/20261127T031500Z.tar.zst',
      'archives/db1/pgdata/20261327T031500Z.tar.zst',
      'archives//pgdata/20261127T031500Z.tar.zst',
      `archives/db1/${'v'.repeat(2000)}/20261127T031500Z.tar.zst`,
      'archives/db1/pgdata/20261127T031500Z.tar.zst.manifest.json.manifest.json',
      '%E0%A4%A',
    ];
    for (const raw of tricks) {
      const decoded = decodeEventKey(raw);
      if (decoded === undefined) continue; // not valid URL encoding: skipped before parsing
      const parsed = parseArchiveKey(decoded);
      if (!parsed.ok) {
        expect(parsed.reason.length).toBeGreaterThan(0);
        continue;
      }
      if ('archive' in parsed) {
        expect(parsed.archive.source).toMatch(SOURCE_PATTERN);
        expect(parsed.archive.volume).toMatch(VOLUME_PATTERN);
        expect(parsed.archive.key).not.toMatch(/\.\.|\s|%/);
      }
    }
  });
});

describe('a tampered manifest read from S3', () => {
  const document = loadDocument('restore-volume');
  const manifest = (container: Record<string, unknown>): ArchiveManifest =>
    ArchiveManifest.parse({
      lifeboat: 'archive-manifest',
      version: 1,
      archiveKey: 'archives/db1/pgdata/20261127T031500Z.tar.zst',
      createdAt: '2026-11-27T03:15:02Z',
      source: 'db1',
      backupId: 'b-1',
      sha256: 'ab'.repeat(32),
      compression: 'zstd',
      compressedBytes: 1,
      uncompressedBytes: 1,
      fileCount: 1,
      consistency: 'pause',
      volume: { name: 'pgdata', driver: 'local', driverOpts: null, labels: null },
      hostPath: null,
      mountPath: '/var/lib/postgresql/data',
      container: {
        name: '/db',
        image: 'postgres:15',
        envNames: [],
        command: ['postgres'],
        shmSize: 0,
        restartPolicy: 'unless-stopped',
        networkMode: 'bridge',
        privileged: false,
        capAdd: null,
        pidMode: '',
        user: '',
        mounts: [{ type: 'volume', name: 'pgdata', source: '/var/lib/docker/volumes/pgdata/_data', destination: '/var/lib/postgresql/data', readOnly: false }],
        ports: [],
        ...container,
      },
    });

  // The refusals by field (privileged, capAdd, host network/PID, extra mounts) are in manifest.test.ts.
  it('any container spec is refused, or refused by the document’s patterns, or reaches the host free of shell metacharacters (property)', () => {
    const field = (...valid: string[]): fc.Arbitrary<string> =>
      fc.oneof(
        { arbitrary: fc.constantFrom(...valid), weight: 12 },
        { arbitrary: fc.constantFrom(...NASTY), weight: 1 },
        { arbitrary: fc.string({ maxLength: 80 }), weight: 1 },
      );
    let sent = 0;
    fc.assert(
      fc.property(
        fc.record({
          image: field('postgres:15', 'registry.example.com/team/pg@sha256:' + 'a'.repeat(64)),
          command: fc.array(field('postgres', '-c', 'max_connections=200'), { maxLength: 4 }),
          restartPolicy: field('no', 'always', 'unless-stopped'),
          networkMode: field('bridge', 'default', 'backend'),
          ports: fc.array(field('127.0.0.1:5432:5432/tcp', '5432/tcp'), { maxLength: 3 }),
          envNames: fc.array(field('POSTGRES_PASSWORD', 'PGDATA'), { maxLength: 3 }),
          shmSize: fc.nat(),
        }),
        (change) => {
          let params: Record<string, string>;
          try {
            params = { ...recreateParameters(manifest(change)) };
          } catch (e) {
            expect(e).toBeInstanceOf(UnsafeSpecError);
            return;
          }
          let resolved: Record<string, string>;
          try {
            // What the service checks before SendCommand (and SSM checks again).
            resolved = resolveParameters(document, {
              RestoreId: 'r-abc-12345678',
              ArchiveUrl: 'https://b.s3.amazonaws.com/k?X-Amz-Signature=ab',
              VolumeName: 'pgdata',
              ContainerName: 'db',
              ...params,
            });
          } catch (e) {
            expect((e as Error).name).toBe('ParameterError');
            return;
          }
          sent++;
          for (const [name, value] of Object.entries(resolved)) {
            if (name === 'ArchiveUrl' || name === 'VerifyQuery') continue;
            expect(value, name).not.toMatch(/[;&|$`<>(){}\\'"\n\r\0*?!#~]/);
          }
        },
      ),
      { numRuns: 400 },
    );
    expect(sent).toBeGreaterThan(10); // the property is not vacuous: well-formed specs do get through
  });
});

describe('SSM result lines that are not JSON or lie', () => {
  const good = JSON.stringify({
    lifeboat: 'restore-result',
    version: 1,
    restoreId: 'r-1',
    outcome: 'succeeded',
    failedPhase: null,
    error: null,
    volume: 'pgdata',
    hostPath: null,
    container: 'db',
    containerAction: 'restarted',
    bytes: 10,
    sha256: 'a'.repeat(64),
    compression: 'zstd',
    preservedVolume: null,
    rolledBack: false,
    verifyOutput: '1',
    phases: { preflight: 0.1, download: 1, extract: 0.2, swap: 0, start: 0.5, verify: 0.3 },
    totalSeconds: 2.1,
  });

  it('the well-formed line is read (so the refusals below are about the changes)', () => {
    expect(parseResultLine(RestoreResult, good)).toMatchObject({ outcome: 'succeeded', bytes: 10 });
  });

  it('garbage, truncated, oversized or extra-field lines are no result, never a crash', () => {
    const lines = [
      '',
      'not json',
      '{',
      '[]',
      'null',
      good.slice(0, good.length / 2),
      `${good.slice(0, -1)},"extra":1}`,
      good.replace(/"bytes":\d+/, '"bytes":-5'),
      good.replace(/"bytes":\d+/, '"bytes":1e400'),
      good.replace(/"outcome":"\w+"/, '"outcome":"maybe"'),
      `${good}\ntrailing garbage`,
      good.replace('"sha256":"', '"sha256":"zz'),
      good.replace(/"totalSeconds":[\d.]+/, '"totalSeconds":"2"'),
      `{"lifeboat":"restore-result","version":1,${'"x":1,'.repeat(10_000)}"y":2}`,
      ...NASTY,
    ];
    for (const line of lines) {
      expect(() => parseResultLine(RestoreResult, line)).not.toThrow();
      expect(parseResultLine(RestoreResult, line), line.slice(0, 60)).toBeUndefined();
      expect(parseResultLine(BackupResult, line)).toBeUndefined();
    }
  });

  it('any text at all: parsing never throws (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (s) => {
        parseResultLine(RestoreResult, s);
        parseResultLine(BackupResult, s);
      }),
      { numRuns: 500 },
    );
  });
});
