import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadDocument, parseDocument } from '#core/runbooks/document.ts';
import { ParameterError, parameterEnvironment, renderScript, resolveParameters } from '#core/runbooks/parameters.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOCUMENTS, ROOT } from '#core/paths.ts';
import { DRIVER_OPTS_MAX_CHARS, DriverOpts, driverOptsParameter } from '#core/policy.ts';
import { assembledScriptFile, bashTable } from '../support/bash.ts';

const restoreDoc = loadDocument('restore-volume');
const backupDoc = loadDocument('backup-volume');
const validRestore = {
  RestoreId: 'r-1',
  ArchiveUrl:
    'https://lifeboat-archives.s3.eu-west-1.amazonaws.com/archives/db1/pgdata/20261127T000000Z.tar.zst?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261127%2Feu-west-1%2Fs3%2Faws4_request&X-Amz-Signature=abc123',
  VolumeName: 'pgdata',
};

describe('Lifeboat Command documents', () => {
  it.each(DOCUMENTS)('%s: every parameter has an allowedPattern and is read as an SSM_ variable', (name) => {
    const doc = loadDocument(name);
    for (const [param, spec] of Object.entries(doc.parameters)) {
      expect(spec.interpolationType, param).toBe('ENV_VAR');
      expect(spec.allowedPattern.startsWith('^') && spec.allowedPattern.endsWith('$'), param).toBe(true);
    }
  });

  it("VolumeDriverOpts: the API takes options up to the document's maxChars as key=value words, and names the length beyond", () => {
    expect(loadDocument('restore-volume').parameters.VolumeDriverOpts?.maxChars).toBe(DRIVER_OPTS_MAX_CHARS);
    // Each value may have 512 characters: two long device paths and the mount options.
    const opts = (o: string): Record<string, string> => ({ type: 'nfs', device: `:/${'d'.repeat(500)}`, o: `addr=10.0.0.5,${'x'.repeat(400)}`, p: o });
    const fits = 'a'.repeat(DRIVER_OPTS_MAX_CHARS - driverOptsParameter(opts('')).length);
    expect(DriverOpts.safeParse(opts(fits)).success).toBe(true);
    const over = DriverOpts.safeParse(opts(`${fits}b`));
    expect(over.error?.issues.map((i) => i.message)).toEqual([
      `the options come to ${(DRIVER_OPTS_MAX_CHARS + 1).toString()} characters as key=value words; at most 1024 (restore-volume's VolumeDriverOpts)`,
    ]);
  });

  it.each(DOCUMENTS)('%s: the assembled script re-checks exactly the patterns and lengths the document declares (as bash reads them)', (name) => {
    const doc = loadDocument(name);
    const script = assembledScriptFile(name);
    const declared = Object.fromEntries(Object.entries(doc.parameters).map(([k, v]) => [k, v.allowedPattern]));
    expect(bashTable(script, 'PATTERN')).toEqual(declared);
    const maxChars = Object.fromEntries(Object.entries(doc.parameters).flatMap(([k, v]) => (v.maxChars === undefined ? [] : [[k, v.maxChars.toString()]])));
    expect(bashTable(script, 'MAXCHARS')).toEqual(maxChars);
  });

  it('restore-volume: its patterns compile fast in bash', () => {
    // Bounded repeats in the thousands made glibc regcomp (bash =~) take seconds; 500 costs 30 ms.
    for (const [name, spec] of Object.entries(restoreDoc.parameters)) {
      for (const m of spec.allowedPattern.matchAll(/\{(\d+),(\d+)\}/g)) expect(Number(m[2]), `${name} ${m[0]}`).toBeLessThanOrEqual(500);
    }
  });

  it.each([
    ['restore-volume', 'restore-by-hand.md'],
    ['backup-volume', 'backup-by-hand.md'],
    ['cancel-restore', 'cancel-by-hand.md'],
  ] as const)('%s: the by-hand runbook (%s) sets every declared parameter and no other', (name, page) => {
    const text = readFileSync(join(ROOT, 'runbooks', page), 'utf8');
    const set = [...new Set([...text.matchAll(/\bSSM_([A-Za-z0-9]+)=/g)].map((m) => m[1]))].sort();
    expect(set).toEqual(Object.keys(loadDocument(name).parameters).sort());
  });

  it.each(DOCUMENTS)('%s: no double braces anywhere, so SSM text substitution can never splice a value into the script', (name) => {
    for (const packed of [true, false]) {
      expect(
        loadDocument(name, { packed })
          .mainSteps.flatMap((s) => s.inputs.runCommand)
          .join('\n'),
      ).not.toContain('{{');
    }
  });

  it.each(DOCUMENTS)('%s: every default value satisfies its own pattern', (name) => {
    const doc = loadDocument(name);
    for (const [param, spec] of Object.entries(doc.parameters)) {
      if (spec.default !== undefined) expect(new RegExp(spec.allowedPattern, 'u').test(spec.default), param).toBe(true);
    }
  });
});

describe('resolveParameters (what SSM checks before sending)', () => {
  it('fills defaults and accepts a real presigned S3 URL', () => {
    const values = resolveParameters(restoreDoc, validRestore);
    expect(values).toMatchObject({ ...validRestore, IfVolumeExists: 'fail', MountPath: '', Verify: 'auto', ExpectedSha256: '' });
  });

  it('names a missing required parameter', () => {
    expect(() => resolveParameters(restoreDoc, { RestoreId: 'r-1' })).toThrow(new ParameterError('ArchiveUrl', 'is required'));
  });

  it('refuses parameters the document does not declare', () => {
    expect(() => resolveParameters(restoreDoc, { ...validRestore, Privileged: 'true' })).toThrow(/Privileged: is not a parameter/);
  });

  const hostile = [
    'pgdata; touch /tmp/pwned',
    '$(touch /tmp/pwned)',
    '`touch /tmp/pwned`',
    'pgdata\ntouch /tmp/pwned',
    '../x',
    '-rf',
    'a'.repeat(300),
    "pg'data",
    'pg data',
    '',
  ];
  it.each(hostile)('refuses the hostile volume name %j, naming the field and the pattern', (value) => {
    expect(() => resolveParameters(restoreDoc, { ...validRestore, VolumeName: value, HostPath: '' })).toSatisfy((fn: () => void) => {
      try {
        fn();
      } catch (e) {
        return e instanceof ParameterError && e.parameter === 'VolumeName' && e.message.includes('must match');
      }
      // The empty name is valid on its own (HostPath may be used instead); the script then refuses it.
      return value === '';
    });
  });

  it.each([
    ['ArchiveUrl', 'http://169.254.169.254/latest/meta-data/'],
    ['ArchiveUrl', 'file:///etc/shadow'],
    ['ArchiveUrl', 'https://x/a b'],
    ['ArchiveUrl', 'https://x/`id`'],
    ['MountPath', '/var/lib/../../etc'],
    ['MountPath', 'relative/path'],
    ['HelperImage', 'alpine; id'],
    ['VerifyQuery', 'select 1; drop table x'],
    ['VerifyQuery', 'select 1; drop table x'],
    ['VerifyQuery', 'select $(id)'],
    ['HealthCommand', 'sh -c "id"'],
    ['ExpectMinimum', '-1'],
    ['Verify', 'sqlite'],
    ['ContainerCommand', 'postgres $(id)'],
    ['ContainerPorts', '5432:5432;id'],
    ['IfVolumeExists', 'overwrite'],
    ['ExpectedSha256', 'A'.repeat(64)],
    ['ArchiveSubPath', '../etc'],
    ['ArchiveSubPath', '/abs'],
  ])('refuses %s = %j', (param, value) => {
    expect(() => resolveParameters(restoreDoc, { ...validRestore, [param]: value })).toThrow(ParameterError);
  });

  it('property: any value holding a shell metacharacter or control character is refused for every parameter', () => {
    // (A space is allowed where a field is a space-separated list: ContainerCommand, VolumeDriverOpts.)
    const meta = fc.constantFrom(...';|&$`\'"\\<>(){}[]*?!#~\n\r\t\0'.split(''));
    fc.assert(
      fc.property(fc.string(), meta, fc.string(), fc.constantFrom(...Object.keys(restoreDoc.parameters)), (a, m, b, param) => {
        // VerifyQuery allows a few SQL characters (no shell sees it: it is an argv entry) — check it separately.
        fc.pre(param !== 'VerifyQuery' && param !== 'ArchiveUrl');
        expect(() => resolveParameters(restoreDoc, { ...validRestore, [param]: `${a}${m}${b}` })).toThrow(ParameterError);
      }),
      { numRuns: 2000 },
    );
  });

  it('backup document refuses a bucket or source that could leave the key convention', () => {
    const base = { BackupId: 'b-1', VolumeName: 'pgdata', Bucket: 'lifeboat-archives', Source: 'db1' };
    expect(resolveParameters(backupDoc, base).KeyPrefix).toBe('archives');
    expect(() => resolveParameters(backupDoc, { ...base, Source: '../other' })).toThrow(/Source/);
    expect(() => resolveParameters(backupDoc, { ...base, Bucket: 'a/b' })).toThrow(/Bucket/);
  });
});

describe('renderScript and parameterEnvironment (what the agent does)', () => {
  const doc = parseDocument(`
schemaVersion: "2.2"
description: toy
parameters:
  Name: { type: String, allowedPattern: "^[a-z]+$", interpolationType: ENV_VAR }
  Count: { type: String, allowedPattern: "^[0-9]+$", default: "3" }
mainSteps:
  - action: aws:runShellScript
    name: s
    inputs: { runCommand: ["echo {{ Name }} {{Count}} {{ Unknown }}", "echo done"] }
`);

  it('substitutes {{ }} as raw text and keeps unknown references', () => {
    expect(renderScript(doc.mainSteps[0]?.inputs.runCommand ?? [], { Name: 'abc', Count: '3' })).toBe('echo abc 3 {{ Unknown }}\necho done');
  });

  it('exposes only ENV_VAR parameters as SSM_<name>', () => {
    expect(parameterEnvironment(doc, { Name: 'abc', Count: '3' })).toEqual({ SSM_Name: 'abc' });
  });
});
