import { describe, expect, it } from 'vitest';
import { RestoreResult, parseResultLine } from '#core/runbooks/results.ts';

const line = {
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
};

describe('parseResultLine', () => {
  it('reads the last line of stdout (a line from before drills reads as a restore)', () => {
    expect(parseResultLine(RestoreResult, `noise\n${JSON.stringify(line)}\n`)).toEqual({
      ...line,
      mode: 'restore',
      strippedSetid: 0,
      dataRoot: null,
      phases: { ...line.phases, cleanup: 0 },
    });
  });
  it('reads a drill result with its cleanup phase', () => {
    const drill = { ...line, mode: 'drill', strippedSetid: 2, dataRoot: '999:999:700', phases: { ...line.phases, cleanup: 0.4 } };
    expect(parseResultLine(RestoreResult, JSON.stringify(drill))).toEqual(drill);
  });
  it('reads which helper ran and how the host got it, and the database image digest (fresh hosts)', () => {
    const fresh = {
      ...line,
      mode: 'restore',
      strippedSetid: 0,
      dataRoot: null,
      helper: { image: 'local/lifeboat-helper-host:0123456789abcdef', source: 'provisioned' },
      containerImage: { image: '127.0.0.1:5000/postgres:15', digest: `127.0.0.1:5000/postgres@sha256:${'b'.repeat(64)}`, source: 'pulled' },
      phases: { ...line.phases, cleanup: 0 },
    };
    expect(parseResultLine(RestoreResult, JSON.stringify(fresh))).toEqual(fresh);
    expect(parseResultLine(RestoreResult, JSON.stringify({ ...fresh, helper: null, containerImage: null }))).toMatchObject({
      helper: null,
      containerImage: null,
    });
  });
  it.each([
    ['no output', ''],
    ['a helper source the host never prints', JSON.stringify({ ...line, helper: { image: 'x', source: 'downloaded' } })],
    ['not JSON', 'Killed\n'],
    ['a result that is not the last line', `${JSON.stringify(line)}\nmore`],
    ['a lying size', JSON.stringify({ ...line, bytes: -5 })],
    ['an unknown outcome', JSON.stringify({ ...line, outcome: 'probably' })],
    ['extra fields', JSON.stringify({ ...line, extra: 1 })],
  ])('never trusts %s', (_case, stdout) => {
    expect(parseResultLine(RestoreResult, stdout)).toBeUndefined();
  });
});
