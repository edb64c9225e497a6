/**
 * Single functions of the host scripts (runbooks/<document>/<document>.sh and
 * runbooks/lib/*.sh), sourced into bash without Docker: the `_main` guard keeps
 * a sourced script from running. Each function is tested in the assembled script,
 * exactly as it deploys.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENTS, ROOT, type DocumentName } from '#core/paths.ts';
import { loadDocument } from '#core/runbooks/document.ts';
import { SYSTEM_DIRECTORIES } from '#core/restore/request.ts';
import { resolveParameters } from '#core/runbooks/parameters.ts';
import { DATA_DOCUMENTS, assembledScriptFile, sourced, sourcedEach } from '../support/bash.ts';

const scripts = {} as Record<DocumentName, string>;
beforeAll(() => {
  for (const name of DOCUMENTS) scripts[name] = assembledScriptFile(name);
});

/** Prints `OUTCOME|ERROR` when the function ends the shell (as `fail` does). */
const REPORT = `trap 'printf "%s|%s" "$OUTCOME" "$ERROR"' EXIT;`;

describe('json_str (every string in a result line)', () => {
  const cases = [
    ['plain', 'pgdata', 'pgdata'],
    ['quotes and backslashes', 'a "quoted" \\ back\\slash', 'a "quoted" \\ back\\slash'],
    ['newline, tab and carriage return', 'line 1\nline\t2\r', 'line 1\nline\t2\r'],
    ['unicode', 'données ✓', 'données ✓'],
    ['other control characters (dropped)', 'a\x01b\x1bc\x7fd', 'abcd'],
  ] as const;
  let printed: string[] = [];
  beforeAll(() => {
    printed = sourcedEach(
      scripts['restore-volume'],
      'V',
      cases.map(([, value]) => value),
      'json_str "$V"',
    );
  });

  it.each(cases.map(([label, , expected], i) => [label, i, expected] as const))('%s: prints valid JSON that reads back as the text', (_, i, expected) => {
    const [json = '', status] = (printed[i] ?? '').split('|');
    expect(status).toBe('0');
    expect(JSON.parse(json)).toBe(expected);
  });

  it('json_or_null: empty is null', () => {
    expect(sourced(scripts['backup-volume'], 'json_or_null ""; json_or_null x').stdout).toBe('null"x"');
  });
});

describe('check_driver_opts (options of a volume the restore creates)', () => {
  const refused = [
    ['type=none o=bind device=/srv/other', 'would bind a host directory'],
    ['o=rbind', 'would bind a host directory'],
    ['type=bind', 'would bind a host directory'],
    ['type=ext4 device=/dev/xvdf', 'only network filesystems'],
    ['device=:/exports/pg', 'needs type='],
    ['type=tmpfs device=/dev/sda1', 'names a device of this host'],
    ['type=nfs device=/dev', 'names a device of this host'],
    ['type=nfs device=/srv/../dev/sda', 'names a device of this host'],
  ] as const;
  const accepted = ['', 'type=nfs o=addr=10.0.0.5,rw device=:/exports/pg', 'type=tmpfs device=tmpfs o=size=64m'];
  const values = [...refused.map(([opts]) => opts), ...accepted];
  let printed: string[] = [];
  beforeAll(() => {
    printed = sourcedEach(scripts['restore-volume'], 'P_VolumeDriverOpts', values, `${REPORT} check_driver_opts`);
  });

  it.each(refused.map(([opts, reason]) => [opts, reason, values.indexOf(opts)] as const))('refuses %j: %s', (_, reason, i) => {
    const [outcome, error = '', status] = (printed[i] ?? '').split('|');
    expect([outcome, status]).toEqual(['refused', '1']);
    expect(error).toContain(reason);
  });

  it.each(accepted.map((opts) => [opts, values.indexOf(opts)] as const))('accepts %j', (_, i) => {
    expect(printed[i]).toBe('failed||0');
  });
});

describe('check_host_path (one denylist, shared by restore and backup)', () => {
  /** Each path with how it meets a system directory, and which. */
  const system = [
    ['/home/alice/db', 'is inside', '/home'],
    ['/etc/ssl', 'is inside', '/etc'],
    ['/tmp/x', 'is inside', '/tmp'],
    ['/var/lib/docker/volumes/x', 'is inside', '/var/lib/docker'],
    ['/root/data', 'is inside', '/root'],
    ['/lib64/x', 'is inside', '/lib*'],
    ['/var/lib/lifeboat/runs', 'is inside', '/var/lib/lifeboat'],
    ['/boot/efi', 'is inside', '/boot'],
    ['/var/lib/amazon', 'is', '/var/lib/amazon'],
    ['/var/backups/db', 'is inside', '/var/backups'],
    // Above one: a backup of /var/lib would carry every volume and container env of /var/lib/docker.
    ['/var/lib', 'holds', '/var/lib/docker'],
    ['/var/lib/', 'holds', '/var/lib/docker'],
  ] as const;
  const dots = ['/srv/a/../../etc', '/srv/.hidden'];
  const data = ['/srv/pgdata', '/data/pg/main', '/var/lib/postgresql/data', '/srv/lib', '/var/library/x'];
  const values = [...system.map(([path]) => path), ...dots, ...data];
  const printed = {} as Record<DocumentName, string[]>;
  beforeAll(() => {
    for (const name of DATA_DOCUMENTS) printed[name] = sourcedEach(scripts[name], 'P_HostPath', values, `${REPORT} check_host_path "ADVICE"`);
  });
  const row = (name: DocumentName, path: string): string | undefined => printed[name][values.indexOf(path)];
  const ALLOWED = 'HostPath may be neither one of, inside nor above a system directory';

  it.each(DATA_DOCUMENTS.flatMap((name) => system.map(([path, how, dir]) => [name, path, how, dir] as const)))(
    '%s refuses %s: it %s a system directory (%s)',
    (name, path, how, dir) => {
      expect(row(name, path)).toBe(`refused|HostPath ${path} ${how} a system directory (${dir}): ${ALLOWED}; ADVICE|1`);
    },
  );

  it.each(DATA_DOCUMENTS.flatMap((name) => dots.map((path) => [name, path] as const)))('%s refuses the dot segments of %s', (name, path) => {
    expect(row(name, path)).toBe('refused|HostPath must not contain dot segments|1');
  });

  it.each(DATA_DOCUMENTS.flatMap((name) => data.map((path) => [name, path] as const)))('%s accepts the data directory %s', (name, path) => {
    expect(row(name, path)).toBe('failed||0');
  });

  it.each(DATA_DOCUMENTS)('%s judges the path as it resolves too (a symlink to /var/lib)', (name) => {
    // realpath stands in for a host where /srv/data is a symlink to /var/lib.
    const run = sourced(scripts[name], `${REPORT} realpath() { printf '/var/lib\\n'; }; check_host_path "ADVICE"`, { P_HostPath: '/srv/data' });
    expect(run.stdout).toBe(`refused|HostPath /srv/data resolves to /var/lib, which holds a system directory (/var/lib/docker): ${ALLOWED}; ADVICE`);
  });

  it.each(DATA_DOCUMENTS)('%s refuses the same directories as the service (SYSTEM_DIRECTORIES)', (name) => {
    expect(sourced(scripts[name], `printf '%s\\n' "\${SYSTEM_DIRS[@]}"`).stdout.trim().split('\n')).toEqual([...SYSTEM_DIRECTORIES]);
  });
});

describe('read_params (the host checks every parameter again)', () => {
  it('names a missing parameter and changes nothing', () => {
    const { stdout } = sourced(scripts['restore-volume'], `${REPORT} read_params`, { SSM_RestoreId: 'r-1', SSM_ArchiveUrl: 'https://x/a' });
    expect(stdout).toMatch(/^refused\|parameter \w+ is missing \(SSM_\w+ not set/);
  });

  it('names a value that does not match its pattern, without echoing it', () => {
    const valid = {
      BackupId: 'b-1',
      VolumeName: 'pgdata',
      HostPath: '',
      ContainerName: '',
      MountPath: '/var/lib/postgresql/data',
      Consistency: 'pause',
      Bucket: 'lifeboat-archives',
      KeyPrefix: 'archives',
      CompressionLevel: '3',
      HelperImage: 'local/lifeboat-helper:1',
      S3EndpointUrl: '',
      Region: '',
    };
    const env = Object.fromEntries(Object.entries({ ...valid, Source: 'db1;touch-pwned' }).map(([k, v]) => [`SSM_${k}`, v]));
    const { stdout } = sourced(scripts['backup-volume'], `${REPORT} read_params`, env);
    expect(stdout).toMatch(/^refused\|parameter Source does not match its allowed pattern \^/);
    expect(stdout).not.toContain('pwned');
  });
});

describe('restore-volume load_params: the engine and its check (the check runs as the database superuser)', () => {
  const env = (query: string, extra: Record<string, string> = {}): Record<string, string> => {
    const values = resolveParameters(loadDocument('restore-volume'), {
      RestoreId: 'r-1',
      ArchiveUrl: 'https://x/a',
      VolumeName: 'pgdata',
      ContainerName: 'db',
      Verify: 'postgres',
      VerifyQuery: query,
      ...extra,
    });
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`SSM_${k}`, v]));
  };
  const refusedAs = (engine: string) => `refused|VerifyQuery does not suit ${engine}'s check rules (functions/core/engines/checks.ts); nothing was run`;

  it.each([
    "select pg_read_file('x')",
    'select lo_get(1)',
    "SELECT CURRENT_SETTING('data_directory')",
    'select query_to_xml(1)',
    "select dblink('x')",
    // SQL run from text, the denied name built at run time (read /etc/hostname on PostgreSQL 15).
    "select word from ts_stat(concat('select to_tsvector(p','g_read_file(',chr(39),chr(47),'etc',chr(47),'hostname',chr(39),'))')) limit 1",
    "select word from ts_stat('select to_tsvector(reverse(''elif_daer_gp''))')",
    "select convert_from(decode('cGdfcmVhZF9maWxl', 'base64'), 'utf8')",
  ])('postgres: refuses %j though the document pattern lets it through', (query) => {
    expect(sourced(scripts['restore-volume'], `${REPORT} load_params`, env(query)).stdout).toBe(refusedAs('postgres'));
  });

  it.each([
    ['mysql', "select load_file('/etc/passwd')"],
    ['mysql', 'select 1 into outfile x'],
    ['mysql', 'select count(*) from mysql . user'],
    ['redis', 'FLUSHALL'],
    ['redis', 'CONFIG GET dir'],
    ['mongodb', 'db.x.deleteMany({})'],
    ['mongodb', 'db.x.find({a: 1})'],
  ])('%s: refuses the check %j before anything runs', (engine, query) => {
    expect(sourced(scripts['restore-volume'], `${REPORT} load_params`, env(query, { Verify: engine })).stdout).toBe(refusedAs(engine));
  });

  it.each([
    [{ Verify: 'custom' }, 'refused|Verify=custom needs HealthCommand (a program and its arguments, one space apart)'],
    [{ Verify: 'redis', HealthCommand: 'redis-cli PING' }, 'refused|HealthCommand is for Verify=custom only; redis has its own'],
    [{ Verify: 'none', ExpectMinimum: '1' }, 'refused|ExpectMinimum needs a check; Verify=none runs none'],
    [{ Verify: 'redis', ContainerName: '' }, 'refused|Verify=redis needs a ContainerName (a data-only restore has no database to ask)'],
    [
      { Verify: 'auto', ContainerName: '', VerifyQuery: 'select 1' },
      'refused|VerifyQuery, ExpectMinimum and HealthCommand need a ContainerName (a data-only restore has no database to ask)',
    ],
  ])('refuses %j', (extra, message) => {
    expect(sourced(scripts['restore-volume'], `${REPORT} load_params`, env('', extra)).stdout).toBe(message);
  });

  it('Verify=auto: decide_engine tells the engine from the restored data, and applies its check rules then', () => {
    const run = (names: string, query = '') =>
      sourced(scripts['restore-volume'], `${REPORT} load_params; DATA_NAMES="$N"; decide_engine; echo "$ENGINE"`, {
        ...env(query, { Verify: 'auto' }),
        N: names,
      }).stdout;
    // The EXIT trap prints OUTCOME|ERROR last: failed| is the default of a run that has not finished.
    expect(run('ibdata1 mysql aria_log_control')).toBe('mysql\nfailed|');
    expect(run('PG_VERSION base global')).toBe('postgres\nfailed|');
    expect(run('appendonlydir dump.rdb')).toBe('redis\nfailed|');
    expect(run('dump.rdb', 'FLUSHALL')).toBe(refusedAs('redis'));
    expect(run('notes.txt')).toMatch(/^refused\|Verify=auto: the restored data does not show which engine it is \(top level: notes.txt\)/);
  });

  it('a refusal that comes after the database was stopped is reported failed, not refused (refused promises nothing was changed)', () => {
    const run = (stopped: string) =>
      sourced(
        scripts['restore-volume'],
        `${REPORT} load_params; DATA_NAMES=notes.txt; STOPPED_CONTAINER=${stopped}; decide_engine`,
        env('', { Verify: 'auto' }),
      ).stdout;
    expect(run('0')).toMatch(/^refused\|Verify=auto: the restored data does not show which engine it is/);
    expect(run('1')).toMatch(/^failed\|Verify=auto: the restored data does not show which engine it is/);
  });

  it.each([
    ['plenty of space and inodes', '104857600 52428800 6553600 6000000', 'ok'],
    ['under a twentieth of the size free', '1000000 49999 65536 60000', 'low'],
    ['a large filesystem: under 1 GiB free is low, above is not', '209715200 1048575 6553600 6000000', 'low'],
    ['a large filesystem with 1 GiB free', '209715200 1048576 6553600 6000000', 'ok'],
    ['under a twentieth of the inodes free', '98304 90000 4000 199', 'low'],
    ['no inode counts (btrfs shows 0 of 0)', '104857600 52428800 0 0', 'ok'],
    ['df unreadable: not low (the preflight checked; the tar bound still holds)', '', 'ok'],
  ])('space_low (the guard during extraction): %s', (_name, df, expected) => {
    const out = sourced(
      scripts['restore-volume'],
      `df() { [[ -n "$D" ]] || return 1; printf '1K-blocks Avail Inodes IFree\\n%s\\n' "$D"; }; if space_low /x; then echo low; else echo ok; fi`,
      { ...env(''), D: df },
    ).stdout;
    expect(out).toBe(`${expected}\n`);
  });

  it('a rollback that cannot put the data back makes a refusal failed: ROLLBACK FAILED is never reported as refused', () => {
    const out = sourced(
      scripts['restore-volume'],
      `${REPORT} load_params; OUTCOME=refused; data_not_back "the previous data is safe in v2"; exit 1`,
      env(''),
    ).stdout;
    expect(out).toBe('failed|; ROLLBACK FAILED: the previous data is safe in v2');
  });

  it('accepts a plain count', () => {
    expect(sourced(scripts['restore-volume'], `${REPORT} load_params`, env('select count(*) from orders')).stdout).toBe('failed|');
  });
});

describe('backup-volume traps', () => {
  it('run in a subshell (a background step), the EXIT and signal traps only end it: no cleanup, no second result line', () => {
    const run = sourced(scripts['backup-volume'], '( on_exit ); echo "exit:$?"; ( interrupted ) || echo "term:$?|$ERROR|$RESULT_PRINTED"');
    expect(run.stdout).toBe('exit:0\nterm:130||0\n');
    // The script's own shell still reports (once).
    const main = sourced(scripts['backup-volume'], 'P_BackupId=b-1; on_exit');
    expect(main.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(main.stdout)).toMatchObject({ lifeboat: 'backup-result', outcome: 'failed', error: 'unexpected error (exit 0) in phase preflight' });
  });
});

describe('restore-volume traps', () => {
  it('run in a subshell (the watchdog TERMed before it set its own trap), the EXIT and signal traps only end it: no rollback, no second result line', () => {
    const run = sourced(scripts['restore-volume'], '( on_exit ); echo "exit:$?"; ( interrupted ) || echo "term:$?|$ERROR|$RESULT_PRINTED"');
    expect(run.stdout).toBe('exit:0\nterm:130||0\n');
    const main = sourced(scripts['restore-volume'], 'on_exit');
    expect(main.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(main.stdout)).toMatchObject({ lifeboat: 'restore-result', outcome: 'failed', error: 'unexpected error (exit 0) in phase preflight' });
  });
});

describe('restore-volume rollback under a second TERM (a cancel sent again)', () => {
  it('finishes the rollback and reports once', () => {
    const d = mkdtempSync(join(tmpdir(), 'lifeboat-second-term-'));
    // An undo step during which the run is TERMed again, as a second cancel would.
    const body = `P_RestoreId=r-1; docker() { :; }
slow_undo() { kill -TERM $$; command sleep 0.3; echo finished >"$D/undo"; }
on_undo slow_undo
trap on_exit EXIT; trap interrupted INT TERM
ERROR="the first TERM"; FAILED_PHASE=download; exit 130`;
    const run = sourced(scripts['restore-volume'], body, { D: d });
    expect(readFileSync(join(d, 'undo'), 'utf8')).toBe('finished\n');
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ lifeboat: 'restore-result', outcome: 'failed', error: 'the first TERM' });
  });
});

describe('restore-volume: a TERM while a change is being made (cancel-restore signals the run alone)', () => {
  /**
   * `docker` on PATH records its arguments; the call named `at` TERMs the run (its parent, as
   * cancel-restore does) and takes 0.3 s to end, as a slow `docker volume create` would. Bash
   * acts on the TERM once that call has ended: the change is made, and its undo must run.
   */
  const termDuring = (at: string, body: string, env: Record<string, string> = {}): { calls: string[]; result: unknown } => {
    const d = mkdtempSync(join(tmpdir(), 'lifeboat-term-during-'));
    const bin = join(d, 'bin');
    spawnSync('mkdir', [bin]);
    writeFileSync(
      join(bin, 'docker'),
      `#!/bin/bash
printf '%s\\n' "$*" >>"$D/calls"
if [[ "$*" == "$AT"* ]]; then printf '%s\\n' "\${OUT:-}"; kill -TERM "$PPID"; sleep 0.3; fi
if [[ -n "\${FAIL:-}" && "$*" == "$FAIL"* ]]; then exit 1; fi
if [[ -n "\${ECHO_ON:-}" && "$*" == "$ECHO_ON"* ]]; then printf '%s\\n' "$ECHO"; fi
exit 0
`,
      { mode: 0o755 },
    );
    const run = sourced(
      scripts['restore-volume'],
      `P_RestoreId=r-1; RUNS_DIR="$D/runs"\ntrap on_exit EXIT; trap interrupted INT TERM\n${body}\necho "went on" >&2`,
      {
        PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        D: d,
        AT: at,
        ...env,
      },
    );
    expect(run.stderr).not.toContain('went on');
    return { calls: readFileSync(join(d, 'calls'), 'utf8').trim().split('\n'), result: JSON.parse(run.stdout) };
  };

  it('while docker creates the target volume: the rollback removes it', () => {
    const { calls, result } = termDuring('volume create', 'TARGET=lbt-new; create_target_volume', {
      P_VolumeDriver: '',
      P_VolumeDriverOpts: '',
      FAIL: 'volume inspect lbt-new',
      ECHO_ON: 'volume inspect -f',
      ECHO: 'r-1',
    });
    expect(calls[1]).toMatch(/^volume create .*lbt-new$/);
    expect(calls).toContain('volume rm -f lbt-new');
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringContaining('interrupted by a signal') as unknown });
  });

  it('while docker stops the database: the rollback starts it again', () => {
    const { calls } = termDuring('stop', 'CONTAINER_WAS=running; stop_container', { P_ContainerName: 'db1' });
    expect(calls[0]).toBe('stop --time 60 db1');
    expect(calls).toContain('start db1');
  });

  it('while docker starts the database on the restored data: the rollback stops it (before any old data is put back)', () => {
    const { calls } = termDuring('start', 'CONTAINER_WAS=running; start_container', { P_ContainerName: 'db1' });
    expect(calls[0]).toBe('start db1');
    expect(calls).toContain('stop --time 30 db1');
  });

  it('while docker creates a network the recreated container joins: the rollback removes it', () => {
    const { calls, result } = termDuring(
      'network create',
      `LOCK_DIR="$D"; PRIMARY_NETWORK=lbt-net; NETWORK_SPEC[lbt-net]="lbt-net,internal"\ncreate_networks`,
      { P_Mode: 'restore', FAIL: 'network inspect', OUT: 'net-id-1' },
    );
    expect(calls).toContain('network create --driver bridge --internal -- lbt-net');
    expect(calls).toContain('network rm net-id-1');
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringContaining('interrupted by a signal') as unknown });
  });

  it('while a host directory is moved aside: the rollback puts it back', () => {
    const d = mkdtempSync(join(tmpdir(), 'lifeboat-term-mv-'));
    spawnSync('bash', ['-c', 'mkdir -p "$1/data" "$1/stage" && echo old >"$1/data/PG_VERSION" && echo new >"$1/stage/PG_VERSION"', 'x', d]);
    // mv TERMs the run once it has moved the directory (a TERM that comes during the rename).
    const bin = join(d, 'bin');
    spawnSync('mkdir', [bin]);
    writeFileSync(join(bin, 'mv'), '#!/bin/bash\n/bin/mv "$@"; st=$?; kill -TERM "$PPID"; sleep 0.2; exit "$st"\n', { mode: 0o755 });
    const run = sourced(
      scripts['restore-volume'],
      `P_RestoreId=r-1; TARGET_KIND=bind; TARGET="$D/data"; TARGET_STATE=nonempty; STAGE="$D/stage"; CONTAINER_WAS=absent
trap on_exit EXIT; trap interrupted INT TERM
swap
echo "went on" >&2`,
      { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, D: d },
    );
    expect(run.stderr).not.toContain('went on');
    expect(readFileSync(join(d, 'data', 'PG_VERSION'), 'utf8')).toBe('old\n');
    expect(existsSync(join(d, 'data.pre-restore.r-1'))).toBe(false);
  });
});

describe('restore-volume start_watchdog (TERM 5 minutes before the step timeout)', () => {
  it('leaves nothing behind: once the run has ended, its sleep is gone and the next run of the volume can take the lock', () => {
    const d = mkdtempSync(join(tmpdir(), 'lifeboat-watchdog-'));
    // As _main: the watchdog, then the lock; on_exit TERMs the watchdog. Its sleep's pid goes to a file.
    const body = `start_watchdog
exec {HOST_LOCK_FD}>>"$D/lock"; flock -n "$HOST_LOCK_FD"
for _ in $(seq 50); do pgrep -P "$WATCHDOG_PID" >"$D/sleeper" && break; command sleep 0.1; done
kill "$WATCHDOG_PID"; wait "$WATCHDOG_PID" || :
command sleep 0.3
state="$(ps -o stat= -p "$(cat "$D/sleeper")" || :)"  # a zombie (Z) has ended
if [[ -n "$state" && "$state" != Z* ]]; then echo "sleep outlived the watchdog" >&2; exit 3; fi`;
    const run = sourced(scripts['restore-volume'], body, { D: d });
    expect(run.stderr).not.toContain('outlived');
    expect(run.status).toBe(0);
    expect(spawnSync('flock', ['-n', join(d, 'lock'), 'true']).status).toBe(0);
  });
});

describe('cancel-restore (TERM to a running restore, found by its pid file)', () => {
  it('the script file can be sourced as written: it defines its functions and does nothing', () => {
    const file = join(ROOT, 'runbooks', 'cancel-restore', 'cancel-restore.sh');
    const { status, stdout } = sourced(file, 'declare -F _main load_params running_pid >/dev/null');
    expect(status).toBe(0);
    expect(stdout).toBe('');
  });

  it('refuses a restore id that does not match its pattern, with a result line and exit 2, without echoing it', () => {
    const { status, stdout } = sourced(scripts['cancel-restore'], 'load_params', { SSM_RestoreId: 'r-1;touch-pwned', SSM_WaitSeconds: '5' });
    expect(status).toBe(2);
    expect(JSON.parse(stdout)).toEqual({
      lifeboat: 'cancel-result',
      version: 1,
      restoreId: '',
      outcome: 'refused',
      message: 'parameter RestoreId does not match its allowed pattern',
    });
  });

  it('names a missing parameter', () => {
    const { status, stdout } = sourced(scripts['cancel-restore'], 'load_params', { SSM_RestoreId: 'r-1' });
    expect(status).toBe(2);
    expect(stdout).toContain('"outcome":"refused","message":"parameter WaitSeconds is missing"');
  });

  it('a restore that is not running on this host: not-running, and success', () => {
    const { status, stdout } = sourced(scripts['cancel-restore'], '_main 2>/dev/null', {
      SSM_RestoreId: `r-unit-${process.pid.toString()}-absent`,
      SSM_WaitSeconds: '5',
    });
    expect(status).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ lifeboat: 'cancel-result', outcome: 'not-running' });
  });
});

describe('the script files as written', () => {
  it.each(DATA_DOCUMENTS)('%s.sh can be sourced from runbooks/ (shared files and helper read from beside it)', (name) => {
    const file = join(ROOT, 'runbooks', name, `${name}.sh`);
    const { status, stdout } = sourced(file, 'json_str "$V"; printf "\\n%s" "${HELPER_SH%%$\'\\n\'*}"; declare -F _main >/dev/null', { V: 'x"y' });
    expect(status).toBe(0);
    expect(stdout).toBe('"x\\"y"\n# shellcheck shell=sh');
  });
});

describe('rollback (the compensation stack the EXIT trap unwinds)', () => {
  /** Docker is never reached: the helper-container sweep at the start of rollback finds none. */
  const NO_DOCKER = 'docker() { :; }\n';

  it('unwinds the undos newest first, the database restart last, without the dropped ones', () => {
    const body = `${NO_DOCKER}P_RestoreId=t; a() { printf a; }; b() { printf b; }; c() { printf c; }; r() { printf r; }
on_undo a; stop_like() { on_undo_at_end r; }; stop_like; on_undo b; on_undo_at_end r; drop_undo a; on_undo c
rollback 2>/dev/null`;
    expect(sourced(scripts['restore-volume'], body).stdout).toBe('cbr');
  });

  const bindRestore = (state: 'nonempty' | 'empty'): string => `${NO_DOCKER}set +e
P_RestoreId=t1; TARGET_KIND=bind; TARGET="$D/data"; TARGET_STATE=${state}; CONTAINER_WAS=absent
mkdir -m 0750 "$TARGET"; ${state === 'nonempty' ? 'printf old >"$TARGET/f"' : ':'}
STAGE="$D/.lifeboat-stage-t1"; on_undo remove_stage; mkdir -m 0700 "$STAGE"; printf new >"$STAGE/f"
swap 2>/dev/null
printf '%s|' "$(cat "$TARGET/f")"
rollback 2>/dev/null
printf '%s|%s|%s|%s' "$(cat "$TARGET/f" 2>/dev/null)" "$(stat -c %a "$TARGET")" "$(ls -A "$D" | tr '\\n' ' ')" "$ROLLED_BACK"`;

  it('a host directory that held data: the new data goes live, then the old directory is back as it was, nothing left beside it', () => {
    const d = mkdtempSync(join(tmpdir(), 'lifeboat-undo-'));
    expect(sourced(scripts['restore-volume'], bindRestore('nonempty'), { D: d }).stdout).toBe('new|old|750|data |true');
  });

  it('an empty host directory: it is empty again with its old mode, nothing left beside it', () => {
    const d = mkdtempSync(join(tmpdir(), 'lifeboat-undo-'));
    expect(sourced(scripts['restore-volume'], bindRestore('empty'), { D: d }).stdout).toBe('new||750|data |true');
  });
});

describe('restore-volume: what changed on the host since the preflight is never taken over', () => {
  /** `docker` records its calls; `volume inspect NAME` fails (absent) unless EXISTS, a label reads LABEL. */
  const DOCKER = `docker() {
  printf '%s\\n' "$*" >>"$D/calls"
  case "$*" in
    "volume inspect -f"*) printf '%s\\n' "$LABEL" ;;
    "inspect -f"*) echo running ;;
    "volume inspect "*) [[ -n "\${EXISTS:-}" ]] ;;
  esac
}
`;
  const run = (body: string, env: Record<string, string> = {}): { calls: string[]; result: Record<string, unknown>; d: string } => {
    const d = mkdtempSync(join(tmpdir(), 'lifeboat-since-'));
    const out = sourced(scripts['restore-volume'], `${DOCKER}P_RestoreId=r-1; RUNS_DIR="$D/runs"\ntrap on_exit EXIT\n${body}\necho "went on" >&2`, {
      D: d,
      LABEL: 'r-1',
      ...env,
    });
    const file = join(d, 'calls');
    return {
      calls: existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [],
      result: JSON.parse(out.stdout) as Record<string, unknown>,
      d,
    };
  };

  it('a volume that appeared since the preflight is refused before any create, and left as it is', () => {
    const { calls, result } = run('TARGET=lbt-new; create_target_volume', { EXISTS: '1' });
    expect(result).toMatchObject({ outcome: 'refused', error: expect.stringContaining('appeared since the preflight') as unknown });
    expect(calls.filter((c) => /^volume (create|rm)/.test(c))).toEqual([]);
  });

  it('a volume Docker hands back as created (it appeared at that moment) is someone else’s: never written to or removed', () => {
    const { calls, result, d } = run('TARGET=lbt-new; create_target_volume', { LABEL: 'r-other', P_VolumeDriver: '', P_VolumeDriverOpts: '' });
    expect(calls.some((c) => /^volume create .*lbt-new$/.test(c))).toBe(true);
    expect(result).toMatchObject({ outcome: 'refused', error: expect.stringContaining('handed back the existing volume') as unknown });
    expect(calls.filter((c) => c.startsWith('volume rm'))).toEqual([]);
    expect(readdirSync(join(d, 'runs'))).toEqual([]);
  });

  it('an empty volume that holds data once its database has stopped (written as it stopped) is never written to: the database starts again', () => {
    const { calls, result } = run(
      `helper() { printf 'helper %s\\n' "$*" >>"$D/calls"; }; probe_volume() { echo "1 1000"; }
TARGET=lbt-vol; TARGET_KIND=volume; CONTAINER_WAS=running; P_ContainerName=db1
stop_container; check_still_empty`,
    );
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringContaining('holds data (1 entries) now that it has stopped') as unknown });
    expect(calls).toEqual(['stop --time 60 db1', expect.stringMatching(/^ps /) as unknown, 'start db1', expect.stringMatching(/^inspect /) as unknown]);
  });

  const bind = (setup: string): string => `P_ContainerName=db1; CONTAINER_WAS=running; TARGET_KIND=bind; TARGET="$D/data"; TARGET_STATE=absent
STAGE="$D/.lifeboat-stage-r-1"; on_undo remove_stage; mkdir -m 0700 "$STAGE"; printf new >"$STAGE/f"
${setup}
swap 2>/dev/null
printf 'live=%s\\n' "$(cat "$TARGET/f")" >>"$D/calls"
exit 0`;

  it('a host directory absent at the preflight, its database still running (its old directory moved aside by hand): stopped before the new data goes live', () => {
    const { calls } = run(bind(':'));
    expect(calls.slice(0, 2)).toEqual(['stop --time 60 db1', 'live=new']);
  });

  it('an empty directory that appeared at the absent HostPath (Docker made it for a starting container) is left as it was', () => {
    const { calls, result, d } = run(bind('mkdir -m 0751 "$TARGET"'));
    expect(result).toMatchObject({ outcome: 'failed', error: expect.stringContaining('appeared since the preflight') as unknown });
    expect(
      spawnSync('stat', ['-c', '%a', join(d, 'data')])
        .stdout.toString()
        .trim(),
    ).toBe('751');
    expect(readdirSync(join(d, 'data'))).toEqual([]);
    expect(readdirSync(d).filter((n) => n.startsWith('.lifeboat'))).toEqual([]); // the restored data removed
    expect(calls).toEqual(['stop --time 60 db1', expect.stringMatching(/^ps /) as unknown, 'start db1', expect.stringMatching(/^inspect /) as unknown]);
  });

  it('a stop cut short (a signal to the whole group, Ctrl-C in local mode) is let finish before the database is started again', () => {
    const body = `container_state() { printf 'state\\n' >>"$D/calls"; echo running; }
P_ContainerName=db1; CONTAINER_WAS=running; STOPPED_CONTAINER=0
restart_container; printf 'error=%s\\n' "$ERROR" >>"$D/calls"; exit 0`;
    expect(run(body).calls.slice(0, 4)).toEqual(['stop --time 60 db1', 'start db1', 'state', 'error=']);
  });

  it('the old data could not be put back: the database is left stopped, and the result says so', () => {
    const body = `P_ContainerName=db1; CONTAINER_WAS=running; TARGET_KIND=bind; TARGET="$D/data"; TARGET_STATE=nonempty
mkdir "$TARGET"; printf old >"$TARGET/f"
STAGE="$D/.lifeboat-stage-r-1"; on_undo remove_stage; mkdir -m 0700 "$STAGE"; printf new >"$STAGE/f"
swap 2>/dev/null
mv -T "$PRESERVED" "$D/elsewhere"  # the preserved directory is gone: putting it back fails
fail failed "verify failed"`;
    const { calls, result } = run(body);
    expect(calls).toEqual(['stop --time 60 db1', expect.stringMatching(/^ps /) as unknown]);
    expect(result).toMatchObject({ outcome: 'failed', rolledBack: false });
    expect(result.error).toMatch(/ROLLBACK FAILED: the previous data is safe in .*data\.pre-restore\.r-1; db1 is left stopped/);
  });
});

describe('restore-volume: labels, networks and other mounts of a recreated container (compose.sh)', () => {
  const env = (extra: Record<string, string> = {}): Record<string, string> => {
    const values = resolveParameters(loadDocument('restore-volume'), {
      RestoreId: 'r-1',
      ArchiveUrl: 'https://x/a',
      VolumeName: 'shop_pgdata',
      ContainerName: 'shop_db_1',
      ContainerImage: 'local/postgres:15',
      Verify: 'postgres',
      ...extra,
    });
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`SSM_${k}`, v]));
  };
  /** Docker answers nothing and fails, and says what it was asked (on stderr, one line per call). */
  const DOCKER_LOG = `docker() { printf 'docker %s\\n' "$*" >&2; return 1; }\n`;
  const run = (body: string, extra: Record<string, string> = {}) => sourced(scripts['restore-volume'], `${REPORT} ${body}`, env(extra));

  it.each([
    [
      { ContainerLabels: 'com.docker.compose.project=shop lifeboat.role=staging' },
      "refused|ContainerLabels: label lifeboat.role: Lifeboat's own labels (lifeboat.*) are never set from parameters",
    ],
    [
      { VolumeLabels: 'Lifeboat.Restore-Id=r-0' },
      "refused|VolumeLabels: label Lifeboat.Restore-Id: Lifeboat's own labels (lifeboat.*) are never set from parameters",
    ],
    [
      { CreateNetworks: 'shop_backend,internal,lifeboat.target=x' },
      "refused|CreateNetworks shop_backend: label lifeboat.target: Lifeboat's own labels (lifeboat.*) are never set from parameters",
    ],
    [{ CreateNetworks: 'bridge' }, "refused|CreateNetworks: bridge is Docker's own network; it is never created"],
    [{ CreateNetworks: 'host,internal' }, 'refused|CreateNetworks: network host is refused'],
    [{ ContainerNetworks: 'shop_backend:db none' }, 'refused|ContainerNetworks: network none is refused'],
    [{ ContainerNetworks: 'host' }, 'refused|ContainerNetworks: network host is refused'],
    [{ ContainerNetworks: 'bridge:db' }, "refused|ContainerNetworks: Docker's default bridge network takes no aliases"],
    [{ ContainerNetworks: 'a:x a:y' }, 'refused|ContainerNetworks names network a twice'],
    [{ ContainerNetwork: 'none', ContainerNetworks: 'shop_backend:db' }, 'refused|ContainerNetwork=none cannot be combined with ContainerNetworks'],
  ])('load_params refuses %j before anything runs', (extra, message) => {
    const { stdout } = run('load_params 2>/dev/null', extra);
    expect(stdout.startsWith(message), stdout).toBe(true);
  });

  const compose = {
    ContainerLabels: 'com.docker.compose.project=shop com.docker.compose.service=db com.docker.compose.oneoff=False',
    VolumeLabels: 'com.docker.compose.project=shop com.docker.compose.volume=pgdata',
    ContainerNetworks: 'shop_backend:db,pg shop_front:db bridge',
    CreateNetworks: 'shop_backend,internal,com.docker.compose.network=backend shop_front',
  };

  it('a recreated container: its labels, the first network with its aliases; the others joined after, with theirs', () => {
    const { stdout, stderr } = run(
      `${DOCKER_LOG}load_params; a=(); recreate_args a; printf '%s\\n' "\${a[@]}"; docker() { printf 'docker %s\\n' "$*" >&2; }; connect_networks`,
      compose,
    );
    expect(stdout).toBe(
      [
        ...['--label', 'com.docker.compose.project=shop', '--label', 'com.docker.compose.service=db', '--label', 'com.docker.compose.oneoff=False'],
        ...['--network', 'shop_backend', '--network-alias', 'db', '--network-alias', 'pg'],
        'failed|',
      ].join('\n'),
    );
    expect(stderr.split('\n').filter((l) => l.startsWith('docker '))).toEqual([
      'docker network connect --alias db -- shop_front shop_db_1',
      'docker network connect -- bridge shop_db_1',
    ]);
  });

  it('the missing networks are created as recorded (bridge driver, internal, labels), and removed again by the rollback, by id', () => {
    const body = `load_params; LOCK_DIR="$(mktemp -d)"
docker() { printf 'docker %s\\n' "$*" >&3; case "$1 $2" in "network inspect") return 1;; "network create") echo "id-\${*: -1}";; esac; }
{ create_networks; echo "undo: \${UNDO[*]}"; rollback 2>/dev/null; } 3>&1 | grep -e '^docker network [cr]' -e '^undo'; rm -r -- "$LOCK_DIR"`;
    expect(run(body, compose).stdout).toBe(
      [
        'docker network create --driver bridge --internal --label com.docker.compose.network=backend -- shop_backend',
        'docker network create --driver bridge -- shop_front',
        'undo: remove_created_networks',
        'docker network rm id-shop_backend',
        'docker network rm id-shop_front',
        'failed|',
      ].join('\n'),
    );
  });

  it('two runs missing the same networks at once (two members of a recovery wave): each network is created once, the other run joins it and never removes it', () => {
    // Docker itself does not refuse the second of two creates of one name that meet: it
    // makes two networks, and then neither container starts. The fake create takes a while,
    // so without the host's network lock both runs would create both.
    const body = `load_params; LOCK_DIR="$(mktemp -d)"; S="$(mktemp -d)"
docker() {
  case "$1 $2" in
    "network inspect") [[ -e "$S/\${*: -1}" ]];;
    "network create") sleep 0.3; echo "$BASHPID" >>"$S/\${*: -1}"; echo "id-$BASHPID";;
  esac
}
one() { create_networks 2>/dev/null; echo "\${#CREATED_NETWORKS[@]}" >"$S/count-$1"; }
one a & one b & wait
echo "creates: $(cat "$S/shop_backend" | wc -l) $(cat "$S/shop_front" | wc -l); created by each run: $(sort "$S"/count-* | tr '\\n' ' ')"
rm -r -- "$LOCK_DIR" "$S"`;
    expect(run(body, compose).stdout).toBe('creates: 1 1; created by each run: 0 2 \nfailed|');
  });

  it('a volume the run creates with VolumeLabels carries those alone (Compose warns about labels it did not write); otherwise Lifeboat’s', () => {
    const body = `${DOCKER_LOG}load_params; TARGET=shop_pgdata; docker() { printf '%s\\n' "$*" >&3; }; { create_volume "$TARGET" restored with-driver; create_volume s staging; } 3>&1`;
    expect(run(body, compose).stdout).toBe(
      [
        'volume create --label com.docker.compose.project=shop --label com.docker.compose.volume=pgdata shop_pgdata',
        'volume create --label lifeboat.restore-id=r-1 --label lifeboat.role=staging --label lifeboat.target=shop_pgdata s',
        'failed|',
      ].join('\n'),
    );
    expect(run(body, { ...compose, VolumeLabels: '' }).stdout).toMatch(
      /^volume create --label lifeboat\.restore-id=r-1 --label lifeboat\.role=restored --label lifeboat\.target=shop_pgdata shop_pgdata\n/,
    );
  });

  it('a drill uses none of them: its container has no network and its names are its own', () => {
    const drill = { ...compose, Mode: 'drill', VolumeName: 'lifeboat-drill-v', ContainerName: 'lifeboat-drill-c' };
    const { stdout } = run('load_params 2>/dev/null; printf "%s|" "${#CONTAINER_LABEL_ARGS[@]}" "${#VOLUME_LABEL_ARGS[@]}" "${#JOIN_NETWORKS[@]}"', drill);
    expect(stdout).toBe('0|0|0|failed|');
  });

  it('other mounts: refused when the container must be recreated, naming each, before Docker is asked anything; an existing container is only restarted', () => {
    const mounts = { ContainerOtherMounts: 'bind:/srv/shop/init:/docker-entrypoint-initdb.d volume:shop_conf:/etc/postgresql' };
    const absent = run(`${DOCKER_LOG}load_params; CONTAINER_WAS=absent; check_recreate`, mounts);
    expect(absent.stdout).toBe(
      'refused|container shop_db_1 would have to be recreated, and it also mounted bind /srv/shop/init at /docker-entrypoint-initdb.d; volume shop_conf at /etc/postgresql. ' +
        'Lifeboat never creates those mounts: restore the data alone (no ContainerName), then recreate the container with its mounts (e.g. docker compose up -d); nothing was changed',
    );
    expect(absent.stderr).not.toContain('docker ');
    expect(run(`${DOCKER_LOG}load_params; CONTAINER_WAS=running; check_recreate`, mounts).stdout).toBe('failed|');
  });

  it('a missing network nothing describes, or a Compose service that already has a container: refused before anything changes', () => {
    const missing = run(`${DOCKER_LOG}load_params; CONTAINER_WAS=absent; check_recreate`, { ...compose, CreateNetworks: 'shop_backend' });
    expect(missing.stdout).toBe(
      'refused|network shop_front does not exist on this host and CreateNetworks does not describe it: create it first; nothing was changed',
    );
    const twin = run(`load_params; docker() { [[ "$1" != ps ]] || echo shop_db_2; }; CONTAINER_WAS=absent; check_recreate`, compose);
    expect(twin.stdout).toBe(
      'refused|Compose service db of project shop already has a container on this host (shop_db_2); restore into it instead (give its name); nothing was changed',
    );
    expect(run(`load_params; docker() { :; }; CONTAINER_WAS=absent; check_recreate`, compose).stdout).toBe('failed|');
  });
});

describe('backup-volume networks_json (what a restore needs to put a Compose service back on its networks)', () => {
  it('each network with its aliases but the container’s own short id; a user-defined one with its driver, internal, labels and options', () => {
    const body = `P_ContainerName=shop_db_1
docker() {
  case "$1 $2" in
    "inspect -f") if [[ "$3" == *Aliases* ]]; then printf 'shop_backend db 096f052e7191\\nbridge\\n'; else echo 096f052e71911fdc67672296f372896f780fa70998bf9c18d9c116b0ee922e61; fi ;;
    "network inspect") echo '"driver":"bridge","internal":true,"enableIPv6":false,"labels":{"com.docker.compose.network":"backend"},"options":{}' ;;
  esac
}
networks_json`;
    const { stdout } = sourced(scripts['backup-volume'], body);
    expect(JSON.parse(stdout)).toEqual([
      {
        name: 'shop_backend',
        aliases: ['db'],
        driver: 'bridge',
        internal: true,
        enableIPv6: false,
        labels: { 'com.docker.compose.network': 'backend' },
        options: {},
      },
      { name: 'bridge', aliases: [] },
    ]);
  });
});

describe('reclaim_interrupted_target: a volume created with VolumeLabels (no label of Lifeboat’s) is known by its creation time', () => {
  const body = `RUNS_DIR="$D"; TARGET_KIND=volume; TARGET=shop_pgdata; P_RestoreId=r-2
printf 'r-1\\ncreated=%s\\n' "$MARKED" >"$D/volume-shop_pgdata"
docker() {
  case "$*" in
    "volume inspect shop_pgdata") ;;
    "volume inspect -f"*CreatedAt*) echo 2026-12-01T20:15:40Z ;;
    "volume inspect -f"*) echo ' ' ;;
    "volume rm shop_pgdata") echo removed >&3 ;;
  esac
}
reclaim_interrupted_target 2>&1 3>&1; ls -A "$D"`;
  it.each([
    ['2026-12-01T20:15:40Z', /^\[lifeboat restore r-2\] removing volume shop_pgdata: restore r-1 created it .*\nremoved\n$/],
    ['2026-12-01T20:15:41Z', /^\[lifeboat restore r-2\] keeping volume shop_pgdata: it is not the volume interrupted restore r-1 created\n$/],
  ])('marked %s', (marked, expected) => {
    const d = mkdtempSync(join(tmpdir(), 'lifeboat-reclaim-'));
    expect(sourced(scripts['restore-volume'], body, { D: d, MARKED: marked }).stdout).toMatch(expected);
  });
});

/** Programs on PATH standing in for docker and aws (called through env and timeout, so never functions). */
function fakeBin(files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-fakebin-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), `#!/bin/bash\n${text}\n`, { mode: 0o755 });
  return dir;
}

/** docker: logs each call with the DOCKER_CONFIG it saw; login stores an auth there (as docker does); pull fails when FAKE_PULL_FAILS is set. */
const FAKE_DOCKER = `case "$1" in
  login) printf 'docker %s config=%s password=%s\\n' "$*" "\${DOCKER_CONFIG:-}" "$(cat)" >>"$FAKE_LOG"
    printf '{"auths":{"%s":{"auth":"QVdTOnNlY3JldA=="}}}' "$5" >"$DOCKER_CONFIG/config.json" ;;
  pull) printf 'docker %s config=%s auth=%s\\n' "$*" "\${DOCKER_CONFIG:-}" "$(cat "\${DOCKER_CONFIG:-/nonexistent}/config.json" 2>/dev/null | head -c 9)" >>"$FAKE_LOG"
    [[ -z "\${FAKE_PULL_FAILS:-}" ]] || { echo 'Error response from daemon: Get "https://127.0.0.1:5000/v2/": connection refused' >&2; exit 1; } ;;
  import) cat >"$FAKE_TAR"; echo sha256:0123 ;;
  run) exit 0 ;;
  image) [[ "$2" == inspect && -n "\${FAKE_ARCH:-}" ]] || exit 1; echo "$FAKE_ARCH" ;;
  *) exit 1 ;;
esac`;
const FAKE_AWS = `printf 'aws %s\\n' "$*" >>"$FAKE_LOG"; [[ -z "\${FAKE_AWS_FAILS:-}" ]] || { echo 'Unable to locate credentials' >&2; exit 255; }; printf 'ecr-password-123'`;

describe('ecr_registry (which images need a login with the instance role)', () => {
  const digest = `@sha256:${'a'.repeat(64)}`;
  const cases = [
    [`123456789012.dkr.ecr.eu-west-1.amazonaws.com/lifeboat-helper${digest}`, '123456789012.dkr.ecr.eu-west-1.amazonaws.com eu-west-1'],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/postgres:15', '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn cn-north-1'],
    ['123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/db/postgres:16', '123456789012.dkr.ecr-fips.us-east-1.amazonaws.com us-east-1'],
    ['12345678901.dkr.ecr.eu-west-1.amazonaws.com/x', 'no'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example/x', 'no'],
    ['evil.example/123456789012.dkr.ecr.eu-west-1.amazonaws.com/x', 'no'],
    ['public.ecr.aws/docker/library/debian:bookworm-slim', 'no'],
    ['127.0.0.1:5000/lifeboat-helper:1', 'no'],
    ['local/lifeboat-helper:1', 'no'],
  ] as const;
  let printed: string[] = [];
  beforeAll(() => {
    printed = sourcedEach(
      scripts['restore-volume'],
      'IMG',
      cases.map(([image]) => image),
      'if ecr_registry "$IMG"; then printf "%s %s" "$ECR_HOST" "$ECR_REGION"; else printf no; fi',
    );
  });
  it.each(cases.map(([image, expected], i) => [image, expected, i] as const))('%s: %s', (_, expected, i) => {
    expect(printed[i]).toBe(`${expected}|0`);
  });
});

describe('pull_image: an ECR image is pulled after a login with the instance role, and no credentials stay on disk', () => {
  const ecr = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/lifeboat-helper@sha256:${'a'.repeat(64)}`;
  const setup = (extra: Record<string, string> = {}): { env: Record<string, string>; work: string; home: string; log: string } => {
    const bin = fakeBin({ docker: FAKE_DOCKER, aws: FAKE_AWS });
    const work = mkdtempSync(join(tmpdir(), 'lifeboat-work-'));
    const home = mkdtempSync(join(tmpdir(), 'lifeboat-home-'));
    const log = join(mkdtempSync(join(tmpdir(), 'lifeboat-log-')), 'calls');
    return { env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home, W: work, FAKE_LOG: log, ...extra }, work, home, log };
  };
  const calls = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n') : []);

  it('logs in to the registry of the image’s region through a Docker config of its own, pulls with it, then removes it', () => {
    const { env, work, home, log } = setup();
    const run = sourced(scripts['restore-volume'], 'WORK="$W"; pull_image "$IMG"; printf "rc=%s" "$?"', { ...env, IMG: ecr });
    expect(run.stdout).toBe('rc=0');
    const [aws = '', login = '', pull = '', ...more] = calls(log);
    expect(aws).toBe('aws ecr get-login-password --region eu-west-1');
    const config = /config=(\S+)/.exec(login)?.[1] ?? '';
    expect(config.startsWith(`${work}/`)).toBe(true);
    expect(login).toBe(`docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com config=${config} password=ecr-password-123`);
    expect(pull).toBe(`docker pull -q ${ecr} config=${config} auth={"auths":`);
    expect(more).toEqual([]);
    // Nothing of the login is left: not the run's config, not a config in root's home.
    expect(readdirSync(work)).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
    expect(run.stderr).toContain('logging in to 123456789012.dkr.ecr.eu-west-1.amazonaws.com (region eu-west-1) with the instance role');
    expect(run.stderr).not.toContain('ecr-password-123');
  });

  it('a failed login: no pull, the reason, and nothing left', () => {
    const { env, work, log } = setup({ FAKE_AWS_FAILS: '1' });
    const run = sourced(scripts['restore-volume'], 'WORK="$W"; pull_image "$IMG" || printf "rc=%s %s" "$?" "$PULL_ERROR"', { ...env, IMG: ecr });
    expect(run.stdout).toMatch(/^rc=1 the login to 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com failed: .*Unable to locate credentials/);
    expect(calls(log).filter((c) => c.startsWith('docker pull'))).toEqual([]);
    expect(readdirSync(work)).toEqual([]);
  });

  it('an image in another registry is pulled with the host’s own Docker config, no login', () => {
    const { env, log } = setup();
    const run = sourced(scripts['backup-volume'], 'WORK="$W"; pull_image "$IMG"; printf "rc=%s" "$?"', { ...env, IMG: '127.0.0.1:5000/lifeboat-helper:1' });
    expect(run.stdout).toBe('rc=0');
    expect(calls(log)).toEqual(['docker pull -q 127.0.0.1:5000/lifeboat-helper:1 config= auth=']);
  });
});

describe('acquire_helper on a host that can neither pull the helper nor make one', () => {
  const digest = `@sha256:${'b'.repeat(64)}`;
  const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const otherArch = hostArch === 'arm64' ? 'amd64' : 'arm64';
  // The helper's tools but zstd, what the script itself calls, and a docker whose pulls fail.
  const acquire = (image: string, env: Record<string, string> = {}): { stdout: string; stderr: string; log: string[] } => {
    const bin = fakeBin({ docker: FAKE_DOCKER });
    const tools = mkdtempSync(join(tmpdir(), 'lifeboat-tools-'));
    const wanted =
      'bash env timeout mktemp dirname uname ldd tar gzip cat dd wc find df awk du cut mkdir mv rm chown chmod stat sync sleep head tail sha256sum sort grep sed tr';
    const link = spawnSync('bash', ['-c', 'for n in $2; do ln -s "$(command -v "$n")" "$1/$n"; done', 'x', tools, wanted]);
    expect(link.status).toBe(0);
    const log = join(mkdtempSync(join(tmpdir(), 'lifeboat-log-')), 'calls');
    const run = sourced(scripts['backup-volume'], `${REPORT} WORK="$W"; P_HelperImage="$IMG"; acquire_helper`, {
      PATH: `${bin}:${tools}`,
      W: mkdtempSync(join(tmpdir(), 'lifeboat-work-')),
      IMG: image,
      FAKE_LOG: log,
      FAKE_PULL_FAILS: '1',
      ...env,
    });
    return { stdout: run.stdout, stderr: run.stderr, log: existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n') : [] };
  };
  const install = 'to make one from this host’s tools, install zstd (dnf install zstd / apt-get install zstd)'.replace('’', "'");

  it('fails naming exactly what to install, or the image to make available', () => {
    const image = `127.0.0.1:5000/lifeboat-helper${digest}`;
    const run = acquire(image);
    expect(run.stdout).toBe(
      `failed|helper image ${image}: it is not on this host and cannot be used from its registry (docker pull failed: Error response from daemon: Get "https://127.0.0.1:5000/v2/": connection refused); ` +
        `${install}, or make ${image} available on this host`,
    );
    expect(run.log.filter((l) => l.startsWith('docker pull'))).toHaveLength(1);
  });

  it('never pulls a helper named by tag (local/lifeboat-helper:1 would come from Docker Hub): it makes one instead, or says what to install', () => {
    const run = acquire('local/lifeboat-helper:1');
    expect(run.log.filter((l) => l.startsWith('docker pull'))).toEqual([]);
    expect(run.stdout).toBe(
      `failed|helper image local/lifeboat-helper:1: it is not on this host, and a helper named by tag is never pulled (only a reference pinned by @sha256: is); ${install}, or make local/lifeboat-helper:1 available on this host`,
    );
  });

  it('does not use a helper built for another CPU (an amd64 image on a Graviton host): it says so and makes one from the host’s tools', () => {
    const image = `127.0.0.1:5000/lifeboat-helper${digest}`;
    const run = acquire(image, { FAKE_ARCH: otherArch });
    expect(run.log.filter((l) => l.startsWith('docker pull'))).toEqual([]);
    expect(run.stdout).toBe(
      `failed|helper image ${image}: it is built for ${otherArch} and this host is ${hostArch} (set helperPlatform in the stack's configuration); ${install}, or make ${image} available on this host`,
    );
    expect(run.stderr).toContain("making one from this host's own tools");
  });

  it('uses a helper that is present and built for this CPU, and says so', () => {
    const run = acquire(`127.0.0.1:5000/lifeboat-helper${digest}`, { FAKE_ARCH: hostArch });
    expect(run.stdout.split('|')[1]).toBe(''); // no error recorded
    expect(run.log).toEqual([]);
    expect(run.stderr).toContain(`helper image 127.0.0.1:5000/lifeboat-helper${digest} is on this host`);
  });
});

describe('provision_helper: a helper made from this host’s own tools', () => {
  it('holds bash as /bin/sh, GNU tar, gzip, zstd, xz, bzip2 with their libraries and the loader, and is named by its content', () => {
    const tar = join(mkdtempSync(join(tmpdir(), 'lifeboat-import-')), 'root.tar');
    const env = {
      PATH: `${fakeBin({ docker: FAKE_DOCKER })}:/usr/bin:/bin`,
      W: mkdtempSync(join(tmpdir(), 'lifeboat-work-')),
      FAKE_LOG: '/dev/null',
      FAKE_TAR: tar,
    };
    const first = sourced(scripts['restore-volume'], 'WORK="$W"; provision_helper; printf "%s" "$HELPER_IMAGE"; ls -A "$W"', env);
    const second = sourced(scripts['restore-volume'], 'WORK="$W"; provision_helper; printf "%s" "$HELPER_IMAGE"', env);
    expect(first.stdout).toMatch(/^local\/lifeboat-helper-host:[a-f0-9]{16}$/); // and nothing left in WORK
    expect(second.stdout).toBe(first.stdout);
    const listing = spawnSync('tar', ['-tvf', tar], { encoding: 'utf8' }).stdout;
    for (const entry of [
      './usr/bin/bash',
      './usr/bin/tar',
      './usr/bin/gzip',
      './usr/bin/zstd',
      './usr/bin/xz',
      './usr/bin/bzip2',
      './usr/bin/find',
      './usr/bin/awk',
      './usr/bin/sha256sum',
    ]) {
      expect(listing).toMatch(new RegExp(` ${entry.replaceAll('.', '\\.')}\\n`));
    }
    expect(listing).toMatch(/ \.\/usr\/bin\/sh -> bash\n/);
    expect(listing).toMatch(/ \.\/bin -> usr\/bin\n/);
    expect(listing).toMatch(/ \.\/usr\/bin\/xzcat -> xz\n/);
    expect(listing).toMatch(/^-rwxr-xr-x [^\n]* \.\/usr\/bin\/zstd\n/m);
    expect(listing).toMatch(/^-rw[-x]r-[-x]r-[-x] [^\n]*\/libc\.so\.6\n/m);
    expect(listing).toMatch(/\/ld-linux[^ ]*\.so\.[0-9]\n/);
    expect(listing).toMatch(/^drwxrwxrwt [^\n]* \.\/tmp\/\n/m);
  }, 180_000); // it copies the host’s tools and their libraries into an image tar: over a minute on a loaded machine
});

describe('probe_volume (entries and free KiB of a volume: from the host for a plain local volume, else by a helper)', () => {
  /** docker: `volume inspect` prints FAKE_VOLUME (driver, option count, mountpoint); `run` (a helper) logs and answers "7 99". */
  const FAKE = `case "$1" in
  volume) printf '%s\\n' "$FAKE_VOLUME" ;;
  run) printf 'helper\\n' >>"$FAKE_LOG"; echo '7 99' ;;
  *) exit 1 ;;
esac`;
  const probe = (volume: (dir: string) => string, vars = ''): { out: string; helper: boolean } => {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-vol-'));
    const data = join(dir, '_data');
    spawnSync('bash', ['-c', 'mkdir "$1" && : >"$1/PG_VERSION" && mkdir "$1/base" && ln -s /etc "$2"', 'x', data, join(dir, 'link')]);
    const log = join(dir, 'calls');
    const run = sourced(
      scripts['restore-volume'],
      `DOCKER_HOSTNAME="$HOSTNAME" PHASE=download P_ContainerName="" P_RestoreId=t HELPER_IMAGE=h\n${vars}\nprobe_volume v`,
      {
        PATH: `${fakeBin({ docker: FAKE })}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        FAKE_VOLUME: volume(dir),
        FAKE_LOG: log,
      },
    );
    return { out: run.stdout.trim(), helper: existsSync(log) };
  };

  it('a plain local volume: its directory counted here (every entry, hidden ones too), with its root owner:group:mode, no helper run', () => {
    const { out, helper } = probe((d) => `local 0 ${d}/_data`);
    expect(out).toMatch(/^2 \d+ \d+:\d+:[0-7]{3,4}$/);
    expect(helper).toBe(false);
  });

  it.each([
    ['driver options (an NFS export behind the directory)', (d: string) => `local 3 ${d}/_data`, ''],
    ['another driver', (d: string) => `rexray 0 ${d}/_data`, ''],
    ['a mountpoint that is a symlink', (d: string) => `local 0 ${d}/link`, ''],
    ['a mountpoint that is not here', () => 'local 0 /nonexistent/_data', ''],
    ['a mountpoint with unusual characters', (d: string) => `local 0 ${d}/_data x`, ''],
    ['a dockerd of another host (DOCKER_HOST, a context)', (d: string) => `local 0 ${d}/_data`, 'DOCKER_HOSTNAME=elsewhere'],
    ['preflight, with a container to stop later (the helper must be proved first)', (d: string) => `local 0 ${d}/_data`, 'PHASE=preflight P_ContainerName=db'],
    ['after preflight, with a running container not yet stopped', (d: string) => `local 0 ${d}/_data`, 'P_ContainerName=db CONTAINER_WAS=running'],
  ] as const)('%s: the helper probes', (_, volume, vars) => {
    expect(probe(volume, vars)).toEqual({ out: '7 99', helper: true });
  });

  it('after preflight, with a container that is absent or stopped: from the host', () => {
    expect(probe((d) => `local 0 ${d}/_data`, 'P_ContainerName=db CONTAINER_WAS=absent')).toMatchObject({ helper: false });
    expect(probe((d) => `local 0 ${d}/_data`, 'P_ContainerName=db CONTAINER_WAS=stopped')).toMatchObject({ helper: false });
  });
});

describe('secs and json_str (the result line, without subshells)', () => {
  it('secs: microseconds to seconds, rounded to the millisecond, signed', () => {
    const run = sourced(scripts['restore-volume'], 'for u in 0 499 500 1500 999999 1000000 4747449 -2500 7200000000; do secs "$u"; echo; done');
    expect(run.stdout.split('\n').slice(0, -1)).toEqual(['0.000', '0.000', '0.001', '0.002', '1.000', '1.000', '4.747', '-0.003', '7200.000']);
  });

  it('json_str: quotes, backslashes and control characters escaped or dropped; other bytes kept', () => {
    const run = sourced(
      scripts['restore-volume'],
      `json_str "$(printf 'a"b\\\\c\\nd\\te\\001f\\177g\\033h\\r\\303\\251\\377')" | od -An -v -tx1 | tr -d ' \\n'`,
    );
    // (bytes: é in UTF-8, and 0xff, which is no UTF-8 at all, pass through as they came)
    expect(run.stdout).toBe(Buffer.concat([Buffer.from('"a\\"b\\\\c\\nd\\tefgh\\r'), Buffer.from([0xc3, 0xa9, 0xff]), Buffer.from('"')]).toString('hex'));
  });
});
