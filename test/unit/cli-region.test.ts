/**
 * Region loss from the CLI's side: a `cdk deploy --all --outputs-file` file holds the primary
 * stack and the DR stack (`LifeboatDr`). `--region` (or LIFEBOAT_REGION) picks the stack in that
 * region and signs for it; without it the primary is used, with one note on how to reach the DR
 * stack; a stack that does not answer names the other one's `--region`. Two local HTTP servers
 * stand in for the two regions' APIs (they record which one was asked, and the SigV4 scope).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPLICA_STACK_ID } from '#core/replication.ts';
import { main, resolveApi, type Io } from '#root/cli/main.ts';
import { EXIT } from '#root/cli/errors.ts';

const PRIMARY = 'eu-central-1';
const DR = 'eu-west-1';

interface Asked {
  server: 'primary' | 'dr';
  path: string;
  /** The SigV4 credential scope's region. */
  region: string | undefined;
}
const asked: Asked[] = [];
/** What the primary answers: a Lifeboat, or a dead region's 503. */
let primaryStatus = 200;

function standIn(name: Asked['server']): Server {
  return createServer((req, res) => {
    asked.push({ server: name, path: req.url ?? '', region: /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] });
    const status = name === 'primary' ? primaryStatus : 200;
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(status === 200 ? JSON.stringify({ volumes: [] }) : JSON.stringify({ message: 'Service Unavailable' }));
  });
}

let primary: Server;
let dr: Server;
let dir: string;
let both: string;
let primaryUrl: string;
let drUrl: string;
/** A port nothing listens on: a region that is gone. */
let deadUrl: string;

const listen = async (server: Server): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}/prod/`;
};

function outputsFile(name: string, outputs: Record<string, Record<string, string>>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(outputs));
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-cli-region-'));
  primary = standIn('primary');
  dr = standIn('dr');
  primaryUrl = await listen(primary);
  drUrl = await listen(dr);
  const gone = createServer();
  deadUrl = await listen(gone);
  await new Promise((resolve) => gone.close(resolve));
  // As `cdk deploy --all --outputs-file` writes it: one object per stack, with the stacks' other outputs.
  both = outputsFile('cdk-outputs.json', {
    Lifeboat: { ApiUrl: primaryUrl, Region: PRIMARY, Role: 'primary', BucketName: 'lifeboat-archives' },
    [REPLICA_STACK_ID]: { ApiUrl: drUrl, Region: DR, Role: 'replica', BucketName: `lifeboat-replica-123456789012-${DR}` },
  });
});
afterAll(async () => {
  await new Promise((resolve) => primary.close(resolve));
  await new Promise((resolve) => dr.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  asked.length = 0;
  primaryStatus = 200;
});

async function lifeboat(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: Io = { stdout, stderr: stderr as unknown as NodeJS.WriteStream, stdin: new PassThrough() as unknown as NodeJS.ReadStream, env };
  const code = await main(args, io);
  return { code, out, err };
}

describe('lifeboat with both stacks in the outputs file', () => {
  it('--region <dr> talks to the DR stack, signed for the DR region, and says nothing else on stderr', async () => {
    const r = await lifeboat(['--outputs', both, '--json', 'volumes', '--region', DR]);
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(asked).toEqual([{ server: 'dr', path: '/prod/volumes', region: DR }]);
    expect(r.err).toBe('');
  });

  it('LIFEBOAT_REGION picks the stack as --region does; --region on the command line wins over it', async () => {
    const r = await lifeboat(['--outputs', both, '--json', 'volumes'], { LIFEBOAT_REGION: DR });
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(asked.map((a) => `${a.server} ${a.region ?? ''}`)).toEqual([`dr ${DR}`]);
    asked.length = 0;
    const flag = await lifeboat(['--outputs', both, '--region', PRIMARY, '--json', 'volumes'], { LIFEBOAT_REGION: DR });
    expect(flag.code, flag.err).toBe(EXIT.ok);
    expect(asked.map((a) => `${a.server} ${a.region ?? ''}`)).toEqual([`primary ${PRIMARY}`]);
  });

  it('no --region: the primary stack, with one note naming it and how to reach the DR stack', async () => {
    const r = await lifeboat(['--outputs', both, '--json', 'volumes']);
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(asked).toEqual([{ server: 'primary', path: '/prod/volumes', region: PRIMARY }]);
    expect(r.err.trimEnd().split('\n')).toEqual([
      `lifeboat: ${both} holds 2 stacks; using the primary, Lifeboat (${PRIMARY}, primary). For the DR stack: --region ${DR}`,
    ]);
    expect(JSON.parse(r.out)).toEqual({ volumes: [] }); // stdout stays one JSON document
  });

  it('a region with no stack: a usage error listing each stack with its region and role; nothing is asked', async () => {
    const r = await lifeboat(['--outputs', both, 'volumes', '--region', 'us-east-1']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toContain(`${both} has no Lifeboat stack in region us-east-1`);
    expect(r.err).toContain(`Lifeboat (${PRIMARY}, primary), ${REPLICA_STACK_ID} (${DR}, replica)`);
    expect(asked).toEqual([]);
    const bad = await lifeboat(['--outputs', both, 'volumes', '--region', 'Frankfurt']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toMatch(/--region "Frankfurt" is not an AWS region such as eu-west-1/);
  });

  it('the primary does not answer (its region is down): the error hints the DR stack’s --region', async () => {
    const deadPrimary = outputsFile('dead.json', {
      Lifeboat: { ApiUrl: deadUrl, Region: PRIMARY, Role: 'primary' },
      [REPLICA_STACK_ID]: { ApiUrl: drUrl, Region: DR, Role: 'replica' },
    });
    const r = await lifeboat(['--outputs', deadPrimary, 'volumes']);
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.err).toMatch(/the Lifeboat API at http:\/\/127\.0\.0\.1:\d+ did not answer/);
    expect(r.err).toContain(`if its region is down, use another stack from the outputs file: --region ${DR} (${REPLICA_STACK_ID} (${DR}, replica))`);
    // Followed, the hint works.
    const there = await lifeboat(['--outputs', deadPrimary, '--region', DR, '--json', 'volumes']);
    expect(there.code, there.err).toBe(EXIT.ok);
    expect(asked.map((a) => a.server)).toEqual(['dr']);
  });

  it('a 5xx from the primary’s API Gateway: the same hint', async () => {
    primaryStatus = 503;
    const r = await lifeboat(['--outputs', both, 'volumes']);
    expect(r.code).toBe(EXIT.unavailable);
    // API Gateway's own body (not Lifeboat's error shape) is shown, not only the status.
    expect(r.err).toContain(`HTTP 503: {"message":"Service Unavailable"}`);
    expect(r.err).toContain(`--region ${DR}`);
  });

  it('the DR stack down names the primary the other way round', async () => {
    const deadDr = outputsFile('dead-dr.json', {
      Lifeboat: { ApiUrl: primaryUrl, Region: PRIMARY, Role: 'primary' },
      [REPLICA_STACK_ID]: { ApiUrl: deadUrl, Region: DR, Role: 'replica' },
    });
    const r = await lifeboat(['--outputs', deadDr, '--region', DR, 'volumes']);
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.err).toContain(`--region ${PRIMARY} (Lifeboat (${PRIMARY}, primary))`);
  });

  it('--api still wins over the outputs file (and --region is then the region to sign for)', async () => {
    const r = await lifeboat(['--outputs', both, '--api', drUrl, '--region', 'ap-south-1', '--json', 'volumes']);
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(asked).toEqual([{ server: 'dr', path: '/prod/volumes', region: 'ap-south-1' }]);
    expect(r.err).toBe('');
  });

  it('a restore with --region <dr> is planned by the DR stack, signed for its region', async () => {
    const r = await lifeboat(['--outputs', both, '--region', DR, 'restore', 'pgdata', '--source', 'db1', '--to', 'i-0123456789abcdef0', '--yes']);
    // The stand-in answers no plan: what matters is where it asked.
    expect(asked[0]).toMatchObject({ server: 'dr', path: '/prod/sources/db1/restores', region: DR });
    expect(r.code).not.toBe(EXIT.ok);
  });
});

describe('the stack an outputs file gives (resolveApi)', () => {
  it('a single stack: as before, no note, --region is the region to sign for when its outputs do not tell one', () => {
    const one = outputsFile('one.json', { Lifeboat: { ApiUrl: primaryUrl, BucketName: 'b' } });
    expect(resolveApi({ outputs: one }, {})).toMatchObject({ url: primaryUrl, others: [] });
    expect(resolveApi({ outputs: one }, {})?.note).toBeUndefined();
    expect(resolveApi({ outputs: one, region: 'eu-north-1' }, {})).toMatchObject({ url: primaryUrl, region: 'eu-north-1' });
  });

  it('an explicit API URL is signed for --region, never for an exported LIFEBOAT_REGION meant for the outputs file', () => {
    const url = 'https://abc123.execute-api.eu-central-1.amazonaws.com/prod/';
    expect(resolveApi({ api: url }, { LIFEBOAT_REGION: DR })).toEqual({ url, others: [] });
    expect(resolveApi({}, { LIFEBOAT_API_URL: url, LIFEBOAT_REGION: DR })).toEqual({ url, others: [] });
    expect(resolveApi({ api: url, region: 'ap-south-1' }, { LIFEBOAT_REGION: DR })).toEqual({ url, region: 'ap-south-1', others: [] });
  });

  it('a single stack in another region than --region: a usage error, not a request signed for the wrong region', () => {
    const one = outputsFile('one-region.json', { Lifeboat: { ApiUrl: primaryUrl, Region: PRIMARY, Role: 'primary' } });
    expect(() => resolveApi({ outputs: one, region: DR }, {})).toThrow(`no Lifeboat stack in region ${DR}`);
  });

  it('without a Region output, the region is read from the execute-api host name', () => {
    const file = outputsFile('urls.json', {
      Lifeboat: { ApiUrl: `https://abc123.execute-api.${PRIMARY}.amazonaws.com/prod/`, Role: 'primary' },
      [REPLICA_STACK_ID]: { ApiUrl: `https://def456.execute-api.${DR}.amazonaws.com/prod/`, Role: 'replica' },
    });
    expect(resolveApi({ outputs: file, region: DR }, {})).toMatchObject({
      url: `https://def456.execute-api.${DR}.amazonaws.com/prod/`,
      region: DR,
      stack: { name: REPLICA_STACK_ID, role: 'replica' },
    });
  });

  it('several stacks and no primary among them (outputs without Role): pick one, the error lists them', () => {
    const file = outputsFile('roleless.json', { A: { ApiUrl: primaryUrl, Region: PRIMARY }, B: { ApiUrl: drUrl, Region: DR } });
    expect(() => resolveApi({ outputs: file }, {})).toThrow(`holds several stacks with an ApiUrl: A (${PRIMARY}), B (${DR})`);
    expect(resolveApi({ outputs: file, region: DR }, {})).toMatchObject({ url: drUrl });
  });

  it('--local: no API, whatever the outputs file says', () => {
    expect(resolveApi({ outputs: both, region: DR, local: true }, {})).toBeUndefined();
  });
});
