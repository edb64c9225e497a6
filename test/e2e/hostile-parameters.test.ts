import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ParameterError } from '#core/runbooks/parameters.ts';
import { docker } from './support/docker.ts';
import { backup, restore, restoreDocument } from './support/runbooks.ts';
import { startLocalS3 } from '#core/local/s3.ts';

const marker = `/tmp/lifeboat-pwned-${randomBytes(4).toString('hex')}`;
const payloads = [
  `pgdata; touch ${marker}`,
  `$(touch ${marker})`,
  `\`touch ${marker}\``,
  `pgdata\ntouch ${marker}`,
  `pgdata' ; touch ${marker}; echo '`,
  `pgdata" ; touch ${marker}; echo "`,
  '../x',
  '-v',
  'a'.repeat(300),
];
const fields = ['VolumeName', 'ContainerName', 'MountPath', 'HelperImage', 'ArchiveUrl', 'ContainerCommand', 'VerifyQuery', 'VolumeDriverOpts'];
// Pairs the document's own pattern refuses (a leading '-' is a fine argument for ContainerCommand).
const cases = fields
  .flatMap((f) => payloads.map((p) => [f, p] as const))
  .filter(([f, p]) => !new RegExp(restoreDocument.parameters[f]?.allowedPattern ?? '^$', 'u').test(p));
const base = { ArchiveUrl: 'http://127.0.0.1:9/archives/h/v/x.tar.gz', VolumeName: 'lbt-hostile', ContainerName: 'lbt-hostile-db' };

describe('hostile parameters', () => {
  it('covers every field with most payloads', () => {
    expect(cases.length).toBeGreaterThan(fields.length * (payloads.length - 2));
  });

  afterAll(() => {
    expect(existsSync(marker)).toBe(false);
  });

  it.each(cases)('%s = %j is refused by the runner as SSM would', async (field, payload) => {
    await expect(restore({ ...base, [field]: payload })).rejects.toThrow(ParameterError);
  });

  it.each(cases)('with the pattern check bypassed, the restore script refuses %s = %j and runs nothing injected', async (field, payload) => {
    const volumesBefore = await docker('volume', 'ls', '-q');
    const outcome = await restore({ ...base, [field]: payload }, { unsafeSkipPatternCheck: true });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.result).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
    expect(outcome.result?.error).toContain(`parameter ${field} does not match its allowed pattern`);
    expect(outcome.result?.error).not.toContain(marker); // the value is never echoed back
    expect(existsSync(marker)).toBe(false);
    expect(await docker('volume', 'ls', '-q')).toBe(volumesBefore);
  });

  it.each(payloads)('with the pattern check bypassed, the backup script refuses VolumeName = %j', async (payload) => {
    const s3 = await startLocalS3();
    try {
      const outcome = await backup(s3, { VolumeName: payload }, { unsafeSkipPatternCheck: true });
      expect(outcome.result).toMatchObject({ outcome: 'refused', failedPhase: 'preflight' });
      expect(existsSync(marker)).toBe(false);
    } finally {
      await s3.close();
    }
  });

  it('a host path inside a system directory is refused even though it matches the pattern', async () => {
    const outcome = await restore({ ...base, VolumeName: '', HostPath: '/etc/lifeboat' });
    expect(outcome.result).toMatchObject({ outcome: 'refused' });
    expect(outcome.result?.error).toContain('system directory');
  });

  it.each(['/etc/ssl', '/root/keys', '/var/lib/docker/volumes'])(
    'a backup of the system directory %s is refused: nothing leaves the host',
    async (hostPath) => {
      const s3 = await startLocalS3();
      try {
        const outcome = await backup(s3, { VolumeName: '', HostPath: hostPath });
        expect(outcome.result).toMatchObject({ outcome: 'refused', failedPhase: 'preflight', bytes: 0 });
      } finally {
        await s3.close();
      }
    },
  );

  it('volume driver options that would bind a host directory are refused', async () => {
    const outcome = await restore({ ...base, VolumeDriverOpts: 'type=none o=bind device=/etc' });
    expect(outcome.result).toMatchObject({ outcome: 'refused' });
    expect(outcome.result?.error).toContain('use HostPath');
  });
});
