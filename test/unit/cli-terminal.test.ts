/**
 * The CLI's text for a person never carries a control character from data: a manifest's label,
 * a container name, a host's error can hold ESC sequences (`ESC[2K` clears the line, `ESC[1A`
 * moves up), CR or line breaks that would rewrite or forge lines of a plan ("nothing will be
 * stopped"). They are shown as visible escapes; `--json` stays exact JSON. A local HTTP server
 * stands in for the deployed API.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RestoreRecord } from '#core/catalog/model.ts';
import type { RestorePlan } from '#core/restore/service.ts';
import { ProgressDisplay, planText, recordText } from '#root/cli/output.ts';
import { JsonOutput } from '#root/cli/schema.ts';
import { runCli } from '../support/cli.ts';

const INSTANCE = 'i-0123456789abcdef0';
/** Anything a terminal acts on: C0 controls but the line break, DEL, C1 (a one-byte CSI). */
// eslint-disable-next-line no-control-regex -- exactly what must not be written
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
const FORGED = '\r\u001b[2K\u001b[1A\nContainer: none (nothing will be stopped)\u009b2K';

function plan(manifest: string): RestorePlan {
  return {
    archive: {
      key: 'archives/db1/pgdata/20261127T020000Z.tar.zst',
      takenAt: '2026-11-27T02:00:00Z',
      ageSeconds: 3600,
      size: 1024,
      sha256: null,
      compression: 'zstd',
      hasManifest: true,
    },
    target: { instanceId: INSTANCE, online: true, pingStatus: 'Online' },
    volume: 'pgdata',
    containerName: `db${manifest}`,
    dataOnly: false,
    mountPath: { path: `/var/lib/postgresql/data${manifest}`, from: 'manifest' },
    verification: {
      engine: 'postgres',
      from: 'manifest-image',
      detail: `postgres: the manifest names image postgres${manifest}`,
      health: null,
      check: null,
      expectMinimum: null,
    },
    existingVolume: 'refused',
    missingContainer: `created from the manifest's spec${manifest}`,
    recreation: { dropped: [{ what: `label com.evil${manifest}`, reason: 'only com.docker.compose.* labels are put back' }], otherMounts: [`/etc${manifest}`] },
    volumeCreation: {
      manifestRecorded: { driver: `local${manifest}`, driverOpts: { [`o${manifest}`]: manifest } },
      used: { driver: 'local', driverOpts: {}, from: 'default' },
    },
    integrity: 'no checksum',
    expectedSize: { bytes: 4096, from: 'manifest' },
    predicted: { seconds: null, basis: 'no restore or drill of db1/pgdata recorded yet' },
    parameters: {},
  };
}

const RECORD: RestoreRecord = {
  id: 'r-1-00000001',
  requestedBy: 'cli:ops',
  mode: 'restore',
  state: 'failed',
  archiveKey: 'archives/db1/pgdata/20261127T020000Z.tar.zst',
  source: 'db1',
  volume: 'pgdata',
  instanceId: INSTANCE,
  containerName: `db${FORGED}`,
  ifVolumeExists: 'fail',
  createdAt: '2026-11-27T03:00:00.000Z',
  updatedAt: '2026-11-27T03:01:00.000Z',
  phases: { [`extract${FORGED}`]: 1.5 },
  error: `tar failed${FORGED}`,
  failedPhase: `extract${FORGED}`,
};

describe('the CLI’s text never carries a control character from data', () => {
  it('a plan whose manifest strings hold ESC[2K, CR and line breaks keeps its lines, the strings shown escaped', () => {
    const clean = planText(plan(''));
    const text = planText(plan(FORGED));
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text.split('\n')).toHaveLength(clean.split('\n').length);
    expect(text.split('\n').filter((l) => l.startsWith('Container:'))).toEqual([
      'Container: db\\r\\u001b[2K\\u001b[1A\\nContainer: none (nothing will be stopped)\\u009b2K',
    ]);
  });

  it('a restore record’s error, container and phases stay on their lines', () => {
    const text = recordText(RECORD);
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text.split('\n')).toHaveLength(
      recordText({ ...RECORD, containerName: 'db', phases: { extract: 1.5 }, error: 'tar failed', failedPhase: 'extract' }).split('\n').length,
    );
    expect(text).toContain('  error in extract\\r\\u001b[2K\\u001b[1A\\nContainer: none (nothing will be stopped)\\u009b2K: tar failed\\r');
  });

  it('a host’s phase name reaches the progress line escaped', () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (c: Buffer) => (written += c.toString()));
    const display = new ProgressDisplay(`restore r-1${FORGED}`, out as unknown as NodeJS.WriteStream);
    display.phase(`extract${FORGED}`);
    display.stop();
    expect(written).not.toMatch(RAW_CONTROL);
    expect(written.split('\n').filter(Boolean)).toHaveLength(3);
  });
});

describe('lifeboat status over the API: text escaped, --json exact', () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: unknown };
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}/prod/`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  });
  beforeEach(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENVIRONMENT');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  const lifeboat = (args: string[]) => runCli(['--api', url, '--region', 'eu-west-1', ...args]);

  it('the text shows the record’s strings escaped, and --json carries them exactly', async () => {
    answer = { status: 200, body: RECORD };
    const text = await lifeboat(['status', RECORD.id, '--source', 'db1']);
    expect(text.out).toContain('Restore r-1-00000001: FAILED');
    expect(text.out).not.toMatch(RAW_CONTROL);
    expect(text.out).toContain('container db\\r\\u001b[2K');
    const json = await lifeboat(['--json', 'status', RECORD.id, '--source', 'db1']);
    expect(JsonOutput.status.parse(JSON.parse(json.out)).record).toEqual(RECORD);
    // Byte for byte what the schema gives: nothing escaped twice, nothing left out.
    expect(json.out).toBe(`${JSON.stringify(JsonOutput.status.parse({ record: RECORD }), null, 2)}\n`);
  });

  it('an error quoting a host’s words is one line on stderr', async () => {
    answer = { status: 404, body: { error: `no restore r-1-00000001${FORGED}` } };
    const { err } = await lifeboat(['status', RECORD.id, '--source', 'db1']);
    expect(err).not.toMatch(RAW_CONTROL);
    expect(err.split('\n').filter((l) => l.startsWith('lifeboat: '))).toEqual([
      'lifeboat: no restore r-1-00000001\\r\\u001b[2K\\u001b[1A\\nContainer: none (nothing will be stopped)\\u009b2K',
    ]);
  });
});
