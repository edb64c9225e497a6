/**
 * The CLI's manners: `--profile` signs with that AWS profile; with `--json` even a usage error
 * (commander's: unknown option or command, missing argument, a value not among the choices) is
 * one JSON document on stdout; a restore that cannot ask (stdin not a terminal, or --json) needs
 * `--yes`, and without it sends nothing. A local HTTP server stands in for the deployed API and
 * records each request with the access key that signed it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT } from '#root/cli/errors.ts';
import { JsonOutput } from '#root/cli/schema.ts';
import { runCli } from '../support/cli.ts';

const INSTANCE = 'i-0123456789abcdef0';

interface Asked {
  method: string;
  path: string;
  /** The access key id in the SigV4 Authorization header. */
  keyId: string | undefined;
}
const asked: Asked[] = [];
let server: Server;
let url: string;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push({ method: req.method ?? '', path: req.url ?? '', keyId: /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] });
    const found = req.url?.endsWith('/volumes') === true;
    res
      .writeHead(found ? 200 : 404, { 'content-type': 'application/json' })
      .end(JSON.stringify(found ? { volumes: [] } : { error: 'no archives of volume pgdata' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}/prod/`;
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-manners-'));
  // Two profiles with different keys; the environment holds a third pair.
  writeFileSync(
    join(dir, 'credentials'),
    '[default]\naws_access_key_id = AKIDDEFAULTPROFILE\naws_secret_access_key = default-secret\n\n[ops]\naws_access_key_id = AKIDOPSPROFILE\naws_secret_access_key = ops-secret\n',
  );
  // dr: a role assumed with ops' keys; its region is the primary's (us-east-1 here), as it often is.
  writeFileSync(
    join(dir, 'config'),
    '[default]\nregion = eu-west-1\n\n[profile ops]\nregion = eu-west-1\n\n[profile dr]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/lifeboat-operator\nsource_profile = ops\n',
  );
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  asked.length = 0;
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', join(dir, 'credentials'));
  vi.stubEnv('AWS_CONFIG_FILE', join(dir, 'config'));
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENVIRONMENT');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'env-secret');
  vi.stubEnv('AWS_PROFILE', '');
  vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
});

afterEach(() => {
  vi.unstubAllEnvs();
});

/** Runs the CLI with stdin not a terminal (as in a script or CI), or a terminal when asked. */
const lifeboat = (args: string[], { tty = false }: { tty?: boolean } = {}) => runCli(args, { tty, env: { LIFEBOAT_HOME: join(dir, 'home') } });

/** stdout must be exactly one JSON document: the error, named `usage`. */
function usageJson(out: string) {
  const doc = JsonOutput.error.parse(JSON.parse(out));
  expect(doc.error.code).toBe('usage');
  expect(doc.error.exitCode).toBe(EXIT.usage);
  return doc.error;
}

describe('--json: usage errors are one JSON document on stdout', () => {
  it.each([
    ['an unknown option', ['--json', 'volumes', '--bogus'], /unknown option '--bogus'/],
    ['an unknown command', ['--json', 'frobnicate'], /unknown command 'frobnicate'/],
    ['a missing argument', ['--json', 'archives'], /missing required argument 'volume'/],
    ['a value not among the choices', ['--json', 'backup', 'pgdata', '--consistency', 'maybe'], /'maybe' is invalid.*pause, stop, none/],
    ['a value with no option argument', ['--json', 'archives', 'pgdata', '--limit'], /option '--limit <n>' argument missing/],
    ['no command at all', ['--json'], /a command is needed/],
  ])('%s: exit 2, the error as JSON on stdout (and nothing else there), commander’s words on stderr', async (_what, args, message) => {
    const r = await lifeboat(args);
    expect(r.code, r.err).toBe(EXIT.usage);
    const error = usageJson(r.out);
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/^error:/);
    expect(error.hint).toContain('lifeboat --help');
    expect(r.err).not.toBe('');
    expect(asked).toEqual([]);
  });

  it('a value Lifeboat refuses (its own check) carries the same shape and code', async () => {
    const r = await lifeboat(['--json', 'archives', '$(reboot)']);
    expect(r.code).toBe(EXIT.usage);
    expect(usageJson(r.out).message).toContain('volume "$(reboot)" is not allowed');
  });

  it('other errors name their exit code too (3: notFound)', async () => {
    const r = await lifeboat(['--json', '--api', url, '--region', 'eu-west-1', 'archives', 'pgdata', '--source', 'db1']);
    expect(r.code, r.err).toBe(EXIT.notFound);
    const doc = JsonOutput.error.parse(JSON.parse(r.out));
    expect(doc.error).toMatchObject({ code: 'notFound', exitCode: EXIT.notFound });
  });

  it('without --json a usage error prints nothing on stdout', async () => {
    const r = await lifeboat(['volumes', '--bogus']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.out).toBe('');
    expect(r.err).toContain("unknown option '--bogus'");
  });
});

describe('restore when no one can be asked', () => {
  const args = (...extra: string[]): string[] => [
    '--api',
    url,
    '--region',
    'eu-west-1',
    'restore',
    'pgdata',
    '--source',
    'db1',
    '--to',
    INSTANCE,
    '--container',
    'db',
    ...extra,
  ];

  it('stdin not a terminal and no --yes: exit 2, the message names --yes, nothing is sent', async () => {
    const r = await lifeboat(args());
    expect(r.code, r.err).toBe(EXIT.usage);
    expect(r.err).toContain('stdin is not a terminal: add --yes');
    expect(r.err).toContain('nothing was sent');
    expect(r.out).toBe('');
    expect(asked).toEqual([]);
  });

  it('--json and no --yes (even on a terminal): the refusal is the JSON document, nothing is sent', async () => {
    const r = await lifeboat(['--json', ...args()], { tty: true });
    expect(r.code).toBe(EXIT.usage);
    expect(usageJson(r.out).message).toContain('--json was given: add --yes');
    expect(asked).toEqual([]);
  });

  it('with --yes the restore goes ahead: its plan is asked of the API', async () => {
    const r = await lifeboat(args('--yes'));
    expect(asked.map((a) => a.method)).toContain('POST');
    expect(r.code, r.err).toBe(EXIT.notFound); // the stand-in knows no archive
  });
});

describe('--profile', () => {
  const volumes = (...global: string[]): string[] => ['--api', url, '--region', 'eu-west-1', ...global, 'volumes'];

  it('signs with that profile’s keys, not the environment’s; without it, the default chain (here the environment)', async () => {
    const withProfile = await lifeboat(volumes('--profile', 'ops'));
    expect(withProfile.code, withProfile.err).toBe(EXIT.ok);
    const without = await lifeboat(volumes());
    expect(without.code, without.err).toBe(EXIT.ok);
    expect(asked.map((a) => a.keyId)).toEqual(['AKIDOPSPROFILE', 'AKIDFROMENVIRONMENT']);
  });

  it('--profile wins over AWS_PROFILE', async () => {
    vi.stubEnv('AWS_PROFILE', 'default');
    const r = await lifeboat(volumes('--profile', 'ops'));
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(asked.map((a) => a.keyId)).toEqual(['AKIDOPSPROFILE']);
  });

  it('a profile that assumes a role asks STS in the API’s region, not the profile’s (the primary, which may be the region that is down)', async () => {
    const sts: { region: string | undefined; keyId: string | undefined; body: string }[] = [];
    const stsServer = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/sts\//.exec(req.headers.authorization ?? '');
        sts.push({ keyId: scope?.[1], region: scope?.[2], body });
        res
          .writeHead(200, { 'content-type': 'text/xml' })
          .end(
            `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAROLEFROMSTS</AccessKeyId><SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/lifeboat-operator/cli</Arn><AssumedRoleId>AROAEXAMPLE:cli</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`,
          );
      });
    });
    await new Promise<void>((resolve) => stsServer.listen(0, '127.0.0.1', resolve));
    try {
      vi.stubEnv('AWS_ENDPOINT_URL_STS', `http://127.0.0.1:${(stsServer.address() as AddressInfo).port.toString()}`);
      const r = await lifeboat(volumes('--profile', 'dr'));
      expect(r.code, r.err).toBe(EXIT.ok);
      expect(sts).toHaveLength(1);
      expect(sts[0]).toMatchObject({ keyId: 'AKIDOPSPROFILE', region: 'eu-west-1' });
      expect(sts[0]?.body).toContain('Action=AssumeRole');
      expect(asked.map((a) => a.keyId)).toEqual(['ASIAROLEFROMSTS']);
    } finally {
      await new Promise<void>((resolve) =>
        stsServer.close(() => {
          resolve();
        }),
      );
    }
  });

  it('a profile the files do not have: exit 5 naming it and --profile, nothing is sent', async () => {
    const r = await lifeboat(volumes('--profile', 'nosuch'));
    expect(r.code).toBe(EXIT.unavailable);
    expect(r.err).toContain('no AWS credentials to sign the request');
    expect(r.err).toContain('nosuch');
    expect(r.err).toContain('--profile <name>');
    expect(asked).toEqual([]);
  });

  it('a name no profile can have, or local mode (nothing to sign): exit 2 naming --profile', async () => {
    const bad = await lifeboat(volumes('--profile', 'ops team'));
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain('--profile (an AWS profile name) "ops team" is not allowed');
    const local = await lifeboat(['--local', '--profile', 'ops', 'volumes']);
    expect(local.code).toBe(EXIT.usage);
    expect(local.err).toContain('--profile ops names AWS credentials for a deployed Lifeboat');
    expect(asked).toEqual([]);
  });
});
