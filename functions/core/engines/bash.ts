/**
 * The engine profiles as bash, for the host script: tables generated from
 * ENGINE_PROFILES (so the host and the service cannot drift) and the small functions
 * that use them. Every word is single-quoted as one bash word; placeholders are
 * replaced word for word by `engine_argv`, so no shell ever splits or parses a
 * profile's word, a check, or an operator's custom command.
 */
import { bashQuote } from '../runbooks/assemble.ts';
import { CHECK_MAX_CHARS } from './checks.ts';
import { ENGINE_PROFILES, ENGINES, type Engine } from './profiles.ts';

/**
 * A pattern's text as POSIX ERE for bash `[[ =~ ]]`. JavaScript escapes `/` outside
 * brackets (`\/`), which ERE does not need; anything ERE reads differently is refused
 * here rather than silently accepting other text on the host. The `i` flag is carried
 * only for a denylist the host matches against lower-cased text (`lowerCased`).
 */
export function ereSource(pattern: RegExp, lowerCased = false): string {
  const flags = lowerCased ? pattern.flags.replace('i', '') : pattern.flags;
  if (flags !== '') throw new Error(`/${pattern.source}/${pattern.flags}: flags cannot be carried to bash (only i, for a denylist over lower-cased text)`);
  const source = pattern.source.replaceAll('\\/', '/');
  if (/\\[dDsSwWbBpPkuxc0-9]|\(\?/.test(source)) throw new Error(`/${pattern.source}/: uses syntax POSIX ERE lacks`);
  if (/\[[^\]]*\\/.test(source)) throw new Error(`/${pattern.source}/: a backslash inside brackets is a literal backslash in ERE`);
  if (lowerCased && /[A-Z]/.test(source)) throw new Error(`/${pattern.source}/: upper-case letters never match lower-cased text`);
  return source;
}

const words = (values: readonly string[]): string => values.map(bashQuote).join(' ');

function table(name: string, rows: readonly (readonly [string, string | null])[]): string {
  const kept = rows.filter((row): row is readonly [string, string] => row[1] !== null);
  return `declare -A ${name}=(${kept.map(([key, value]) => `[${bashQuote(key)}]=${bashQuote(value)}`).join(' ')})`;
}

const perEngine = (name: string, value: (engine: Engine) => string | null): string =>
  table(
    name,
    ENGINES.map((e) => [e, value(e)] as const),
  );

/** The bash declarations of every profile (top level of the host script: `declare` in a function makes locals). */
export function engineBashTables(): string {
  const p = ENGINE_PROFILES;
  const arrays = ENGINES.flatMap((e) => [
    `declare -a ENGINE_HEALTH_${e}=(${words(p[e].health ?? [])})`,
    `declare -a ENGINE_CHECK_${e}=(${words(p[e].check ?? [])})`,
  ]);
  const fallbacks = ENGINES.flatMap((e) => Object.entries(p[e].fallbackPrograms));
  return [
    '# Engine profiles, generated from functions/core/engines/profiles.ts: change them there.',
    `declare -a ENGINE_NAMES=(${words(ENGINES)})`,
    '# shellcheck disable=SC2034 # read through indirect expansion (engine_argv)',
    '{',
    ...arrays,
    '}',
    perEngine('ENGINE_MARKERS', (e) => (p[e].dataMarkers.length > 0 ? p[e].dataMarkers.join(' ') : null)),
    perEngine('ENGINE_MOUNT_PATH', (e) => p[e].defaultMountPath),
    perEngine('ENGINE_SHM_SIZE', (e) => p[e].defaultShmSize),
    perEngine('ENGINE_USER', (e) => p[e].defaultUser),
    perEngine('ENGINE_DEFAULT_CHECK', (e) => p[e].defaultCheck),
    perEngine('ENGINE_HEALTH_ANSWER', (e) => (p[e].healthAnswer ? ereSource(p[e].healthAnswer) : null)),
    perEngine('ENGINE_CHECK_ANSWER', (e) => (p[e].checkAnswer ? ereSource(p[e].checkAnswer) : null)),
    perEngine('ENGINE_CHECK_PATTERN', (e) => (p[e].checkRules ? ereSource(p[e].checkRules.pattern) : null)),
    perEngine('ENGINE_CHECK_DENY', (e) => (p[e].checkRules?.deny ? ereSource(p[e].checkRules.deny, true) : null)),
    perEngine('ENGINE_SECRET_ENV', (e) => (p[e].secretEnv ? [p[e].secretEnv.name, ...p[e].secretEnv.from].join(' ') : null)),
    table('ENGINE_FALLBACK', fallbacks),
    `ENGINE_CHECK_MAX_CHARS=${CHECK_MAX_CHARS.toString()}`,
  ].join('\n');
}

/** Bash text written in a template: `$\{` stands for bash's `${` (a template's own `${` would interpolate). */
const bash = (strings: TemplateStringsArray): string => strings.raw.join('').replaceAll('$\\{', '${');

/**
 * Functions over the tables (bash 4.2, Amazon Linux 2's: no namerefs). They read the
 * tables, set ENGINE_* globals and print nothing but what is asked; none runs docker.
 */
export const ENGINE_BASH_FUNCTIONS = bash`# engine_known ENGINE: is ENGINE one of the profiles?
engine_known() {
  local e
  for e in "$\{ENGINE_NAMES[@]}"; do
    if [[ "$e" == "$\{1:-}" ]]; then return 0; fi
  done
  return 1
}

# engine_argv ENGINE KIND USER TEXT: ENGINE_ARGV becomes the profile's KIND (health or
# check) argument list, @USER@ replaced by USER (default: the profile's user), @QUERY@ by
# TEXT as one word and @WORDS@ by TEXT's space-separated words. A check without TEXT is
# the engine's default check; ENGINE_ARGV stays empty when there is nothing to run.
# custom: TEXT is the operator's command, split on spaces.
engine_argv() {
  local engine="$\{1:-}" kind="$\{2:-}" user="$\{3:-}" text="$\{4:-}" name word
  local -a split=()
  ENGINE_ARGV=()
  [[ "$kind" == health || "$kind" == check ]] || return 1
  engine_known "$engine" || return 1
  if [[ "$engine" == custom ]]; then
    if [[ -n "$text" ]]; then IFS=' ' read -r -a ENGINE_ARGV <<<"$text"; fi
    return 0
  fi
  if [[ "$kind" == check && -z "$text" ]]; then
    text="$\{ENGINE_DEFAULT_CHECK[$engine]:-}"
    [[ -n "$text" ]] || return 0
  fi
  [[ -n "$user" ]] || user="$\{ENGINE_USER[$engine]:-}"
  name="ENGINE_$\{kind^^}_$\{engine}[@]"
  # $\{x+"$\{x}"}: an empty array under set -u (bash before 4.4 calls it unbound).
  for word in $\{!name+"$\{!name}"}; do
    case "$word" in
      '@USER@') ENGINE_ARGV+=("$user") ;;
      '@QUERY@') ENGINE_ARGV+=("$text") ;;
      '@WORDS@')
        IFS=' ' read -r -a split <<<"$text"
        if (( $\{#split[@]} > 0 )); then ENGINE_ARGV+=("$\{split[@]}"); fi
        ;;
      *) ENGINE_ARGV+=("$word") ;;
    esac
  done
  return 0
}

# engine_fallback: ENGINE_ARGV's program replaced by what the image may have instead
# (mysql -> mariadb), after docker exec said it has no such program (exit 126 or 127).
engine_fallback() {
  local program="$\{ENGINE_ARGV[0]:-}" alt
  [[ -n "$program" ]] || return 1
  alt="$\{ENGINE_FALLBACK[$program]:-}"
  [[ -n "$alt" ]] || return 1
  ENGINE_ARGV[0]="$alt"
}

# engine_check_allowed ENGINE TEXT: does ENGINE's check pattern (and not its denylist,
# over the lower-cased text) accept TEXT? The service's rules, re-checked on the host
# for an engine it decided itself.
engine_check_allowed() {
  local engine="$\{1:-}" text="$\{2:-}" pattern deny lower
  engine_known "$engine" || return 1
  pattern="$\{ENGINE_CHECK_PATTERN[$engine]:-}"
  [[ -n "$pattern" ]] || return 1
  (( $\{#text} <= ENGINE_CHECK_MAX_CHARS )) || return 1
  [[ "$text" =~ $pattern ]] || return 1
  deny="$\{ENGINE_CHECK_DENY[$engine]:-}"
  lower="$\{text,,}"
  if [[ -n "$deny" && "$lower" =~ $deny ]]; then return 1; fi
  return 0
}

# engine_answer_ok KIND ENGINE OUTPUT: does OUTPUT's first line answer as KIND (health
# or check) of ENGINE must? Clients such as redis-cli exit 0 on an error reply.
engine_answer_ok() {
  local kind="$\{1:-}" engine="$\{2:-}" first="$\{3:-}" pattern
  first="$\{first%%$'\n'*}"
  engine_known "$engine" || return 1
  if [[ "$kind" == health ]]; then pattern="$\{ENGINE_HEALTH_ANSWER[$engine]:-}"; else pattern="$\{ENGINE_CHECK_ANSWER[$engine]:-}"; fi
  if [[ -n "$pattern" && ! "$first" =~ $pattern ]]; then return 1; fi
  return 0
}

# engine_from_names NAME...: prints the one database engine whose data markers are among
# the data directory's top-level NAMEs (./mysql/x counts as mysql; a marker's trailing *
# matches any suffix); nothing, and status 1, when none or several match.
engine_from_names() {
  local engine name marker hit found="" count=0
  local -a markers=() names=()
  for name in "$@"; do
    while [[ "$name" == ./* ]]; do name="$\{name#./}"; done
    name="$\{name%%/*}"
    if [[ -n "$name" && "$name" != . ]]; then names+=("$name"); fi
  done
  (( $\{#names[@]} > 0 )) || return 1
  for engine in "$\{ENGINE_NAMES[@]}"; do
    IFS=' ' read -r -a markers <<<"$\{ENGINE_MARKERS[$engine]:-}"
    hit=""
    for marker in $\{markers[@]+"$\{markers[@]}"}; do
      for name in "$\{names[@]}"; do
        if [[ "$marker" == *'*' ]]; then
          if [[ "$name" == "$\{marker%'*'}"* ]]; then hit=1; fi
        elif [[ "$name" == "$marker" ]]; then
          hit=1
        fi
      done
    done
    if [[ -n "$hit" ]]; then found="$engine"; count=$(( count + 1 )); fi
  done
  (( count == 1 )) || return 1
  printf '%s\n' "$found"
}

# engine_secret ENGINE < env: from the container's NAME=VALUE lines on stdin, the value
# the check client reads (MYSQL_PWD from MYSQL_ROOT_PASSWORD, ...): ENGINE_SECRET_NAME
# and ENGINE_SECRET_VALUE, both empty when the engine needs none or none is set. Hand it
# to docker exec as -e "$ENGINE_SECRET_NAME" with the value exported in a subshell,
# never on a command line.
engine_secret() {
  local -a spec=() values=()
  local line i
  ENGINE_SECRET_NAME="" ENGINE_SECRET_VALUE=""
  engine_known "$\{1:-}" || return 1
  IFS=' ' read -r -a spec <<<"$\{ENGINE_SECRET_ENV[$1]:-}"
  while IFS= read -r line || [[ -n "$line" ]]; do
    for (( i = 1; i < $\{#spec[@]}; i++ )); do
      if [[ "$line" == "$\{spec[i]}="* ]]; then values[i]="$\{line#*=}"; fi
    done
  done
  for (( i = 1; i < $\{#spec[@]}; i++ )); do
    if [[ -n "$\{values[i]+set}" ]]; then
      ENGINE_SECRET_NAME="$\{spec[0]}" ENGINE_SECRET_VALUE="$\{values[i]}"
      return 0
    fi
  done
  return 0
}`;

/** Tables and functions together: what the host script needs of the engine profiles. */
export const engineBashScript = (): string => `${engineBashTables()}\n\n${ENGINE_BASH_FUNCTIONS}\n`;
