/**
 * The whole-host recovery state machine, in Amazon States Language (JSONPath).
 *
 * PURE: no aws-cdk-lib. The CDK construct (lib/recovery.ts) deploys exactly this JSON with the
 * tasks function's ARN; the local runner (aws-local-stepfunctions) runs the same JSON with its
 * Task states overridden to call the local core. Every Task calls the ONE recovery tasks function
 * with `{task, input}` (functions/core/recovery/tasks.ts runRecoveryTask).
 *
 * The state carried between states always holds `recoveryId` (ResultPath merges task results
 * beside it), so whatever path ends the recovery, `Report` receives `{recoveryId, error?}`
 * (plus fields the report's input schema ignores):
 *
 *   Prepare ─▶ LaunchRequested? ─▶ Launch ─▶ WaitForHost ─▶ CheckHost ─▶ HostOnline? ─▶ Waves ─▶ Report ─▶ Outcome?
 *                     └──────────────────────────────────────────────────────────────────┘  │                ├▶ Recovered
 *   any failure after Prepare (Catch: $.error = {Error, Cause}), host never online ──────────┘                └▶ NotRecovered
 *
 * Prepare refusing (Lifeboat.RecoveryNotRunnable: unknown, already running elsewhere, or ended)
 * ends the execution at NotPrepared without a report: the recovery belongs to another execution.
 *
 * Waves loops over the prepared waves, one at a time; each wave maps its members (bounded
 * parallel) through RestoreMember, a waitForTaskToken task answered by the completion path,
 * then asks WaveEnded whether later waves may run. A caught member failure becomes that
 * member's result (the rest of its wave still ends); when WaveEnded says stop (a critical member
 * failed), Report gets the error Lifeboat.CriticalMemberFailed and no later wave starts.
 */
import { MAX_PARALLEL, RECOVERY_ERRORS } from '#core/recovery/model.ts';

export interface RecoveryDefinitionOptions {
  /** The recovery tasks function (every Task state invokes it). */
  readonly tasksFunctionArn: string;
  /** Members of one wave restored at once when the prepared recovery does not say (its `parallel` is the Members Map's MaxConcurrencyPath). */
  readonly parallel: number;
  /** How long to wait between SSM checks of a launched replacement, and how many checks before giving up. */
  readonly hostWait: { readonly seconds: number; readonly attempts: number };
  /** How long one member's restore may take before its task times out (States.Timeout, a member failure). */
  readonly memberTimeoutSeconds: number;
  /** The whole execution's bound (top-level TimeoutSeconds). @default none */
  readonly timeoutSeconds?: number;
}

/** Errors of the Lambda service itself (not of the function's code): retried, the function never ran or may run again safely. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/** The error a recovery that did not succeed ends its execution with (NotRecovered). */
export const RECOVERY_FAILED_ERROR = 'Lifeboat.RecoveryFailed';

type Json = Record<string, unknown>;

const lambdaServiceRetrier = { ErrorEquals: [...LAMBDA_SERVICE_ERRORS], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2, JitterStrategy: 'FULL' };
const retryLambdaService = [lambdaServiceRetrier];

/**
 * RestoreMember's retriers (Step Functions uses the FIRST retrier whose ErrorEquals matches, and
 * States.ALL must be last): a member's own verdicts are never retried (MaxAttempts 0) — it could
 * not start, its restore failed on the host, or it timed out; the Lambda service's errors are
 * retried as everywhere; any other error of the function (a transient DynamoDB or SSM error after
 * SendCommand, before the restore id was recorded) is retried twice: startMember is idempotent (a
 * retry hands the new token to the restore already running), so the member is not failed while
 * its restore runs.
 */
export const RESTORE_MEMBER_RETRY = [
  { ErrorEquals: [RECOVERY_ERRORS.memberNotStarted, RECOVERY_ERRORS.memberFailed, 'States.Timeout'], MaxAttempts: 0 },
  lambdaServiceRetrier,
  { ErrorEquals: ['States.ALL'], IntervalSeconds: 5, MaxAttempts: 2, BackoffRate: 3, JitterStrategy: 'FULL' },
];

/**
 * Report's retriers: any error (DynamoDB, SNS, the Lambda service) is retried, Report being
 * idempotent on a final record. What still fails ends the execution failed, and the execution-ended
 * rule (lib/recovery.ts) reports it once more from outside.
 */
export const REPORT_RETRY = [lambdaServiceRetrier, { ErrorEquals: ['States.ALL'], IntervalSeconds: 5, MaxAttempts: 3, BackoffRate: 3, JitterStrategy: 'FULL' }];

/** A catch-all that keeps the state (recoveryId) and puts the error beside it, for Report. */
const catchToReport = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Report' }];

function check(o: RecoveryDefinitionOptions): void {
  const whole = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new Error(`recoveryDefinition: ${name} must be a whole number from ${min.toString()} to ${max.toString()}, got ${String(v)}`);
  };
  if (o.tasksFunctionArn.length === 0) throw new Error('recoveryDefinition: tasksFunctionArn must not be empty');
  whole('parallel', o.parallel, 1, MAX_PARALLEL);
  whole('hostWait.seconds', o.hostWait.seconds, 1, 3600);
  whole('hostWait.attempts', o.hostWait.attempts, 1, 1000);
  whole('memberTimeoutSeconds', o.memberTimeoutSeconds, 60, 31_536_000);
  if (o.timeoutSeconds !== undefined) whole('timeoutSeconds', o.timeoutSeconds, 60, 31_536_000);
}

/** The recovery state machine's definition (ASL JSON), for CDK and for the local runner alike. */
export function recoveryDefinition(o: RecoveryDefinitionOptions): Json {
  check(o);
  /** A lambda:invoke task whose result is the function's return value (`$.Payload`), selected by `select`. */
  const invoke = (task: string, input: Json | string, select: Json, rest: Json): Json => ({
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Parameters: { FunctionName: o.tasksFunctionArn, Payload: { task, ...(typeof input === 'string' ? { 'input.$': input } : { input }) } },
    ResultSelector: select,
    Retry: retryLambdaService,
    ...rest,
  });

  const restoreMember: Json = {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
    Parameters: {
      FunctionName: o.tasksFunctionArn,
      Payload: { task: 'restoreMember', input: { 'recoveryId.$': '$.recoveryId', 'volume.$': '$.volume', 'taskToken.$': '$$.Task.Token' } },
    },
    // The completion path answers the token with the MemberResult (SendTaskSuccess) or the restore's error (SendTaskFailure).
    TimeoutSeconds: o.memberTimeoutSeconds,
    Retry: RESTORE_MEMBER_RETRY,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'MemberFailed' }],
    End: true,
  };

  const members: Json = {
    Type: 'Map',
    ItemsPath: '$.wave.value.members',
    // The recovery's own bound (its plan's parallel, which the prediction assumed); Waves defaults it.
    MaxConcurrencyPath: '$.parallel',
    ItemSelector: { 'recoveryId.$': '$.recoveryId', 'volume.$': '$$.Map.Item.Value.volume', 'role.$': '$$.Map.Item.Value.role' },
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: 'RestoreMember',
      States: {
        RestoreMember: restoreMember,
        // A member that failed (refused, restore failed, timed out) is a result, not the wave's failure: the rest of its wave still ends.
        MemberFailed: {
          Type: 'Pass',
          Parameters: { 'volume.$': '$.volume', 'role.$': '$.role', outcome: 'failed', 'error.$': '$.error' },
          End: true,
        },
      },
    },
    ResultPath: '$.results',
    Catch: catchToReport,
    Next: 'WaveEnded',
  };

  return {
    Comment: 'Lifeboat whole-host recovery: prepare, optionally launch the replacement, restore every member wave by wave, report',
    StartAt: 'Prepare',
    ...(o.timeoutSeconds !== undefined ? { TimeoutSeconds: o.timeoutSeconds } : {}),
    States: {
      // Input: {recoveryId} or {scheduledDrill: {source}}; output: the PreparedRecovery (recoveryId, launch?, waves).
      Prepare: invoke(
        'prepare',
        '$',
        { 'value.$': '$.Payload' },
        {
          OutputPath: '$.value',
          Catch: [
            // Refused (unknown, or not runnable: e.g. a second execution of a live recovery, or of an ended one):
            // this execution ends failed without a report — Report would close a recovery another execution runs.
            { ErrorEquals: [RECOVERY_ERRORS.notRunnable], ResultPath: '$.error', Next: 'NotPrepared' },
            // Any other failure of a recorded recovery is reported; a scheduled drill that could not even be
            // recorded has no recovery to report on: it ends the execution failed (alarmed).
            { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Prepared?' },
          ],
          Next: 'LaunchRequested?',
        },
      ),
      'Prepared?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.recoveryId', IsPresent: true, Next: 'Report' }],
        Default: 'NotPrepared',
      },
      NotPrepared: { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' },
      'LaunchRequested?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.launch', IsPresent: true, Next: 'Launch' }],
        Default: 'Waves',
      },
      Launch: invoke(
        'launch',
        { 'recoveryId.$': '$.recoveryId', 'launch.$': '$.launch' },
        { 'instanceId.$': '$.Payload.instanceId', 'attempts.$': '$.Payload.attempts' },
        { ResultPath: '$.host', Catch: catchToReport, Next: 'WaitForHost' },
      ),
      WaitForHost: { Type: 'Wait', Seconds: o.hostWait.seconds, Next: 'CheckHost' },
      CheckHost: invoke(
        'checkHost',
        { 'recoveryId.$': '$.recoveryId', 'instanceId.$': '$.host.instanceId', 'attempts.$': '$.host.attempts' },
        { 'instanceId.$': '$.Payload.instanceId', 'attempts.$': '$.Payload.attempts', 'online.$': '$.Payload.online' },
        { ResultPath: '$.host', Catch: catchToReport, Next: 'HostOnline?' },
      ),
      'HostOnline?': {
        Type: 'Choice',
        Choices: [
          { Variable: '$.host.online', BooleanEquals: true, Next: 'Waves' },
          { Variable: '$.host.attempts', NumericGreaterThanEquals: o.hostWait.attempts, Next: 'HostNotOnline' },
        ],
        Default: 'WaitForHost',
      },
      HostNotOnline: {
        Type: 'Pass',
        Parameters: {
          Error: RECOVERY_ERRORS.hostNotOnline,
          'Cause.$': `States.Format('the launched instance {} was not online in SSM after {} checks ${o.hostWait.seconds.toString()} s apart', $.host.instanceId, $.host.attempts)`,
        },
        ResultPath: '$.error',
        Next: 'Report',
      },
      // The waves, one after the other: a loop over $.waves by index (not a Map: a Map whose iteration
      // fails still starts its queued iterations in the local runner; this loop runs no member of a
      // wave after a stop, in AWS and locally alike).
      Waves: {
        Type: 'Choice',
        Choices: [{ Variable: '$.parallel', IsPresent: true, Next: 'FirstWave' }],
        Default: 'DefaultParallel',
      },
      DefaultParallel: { Type: 'Pass', Result: o.parallel, ResultPath: '$.parallel', Next: 'FirstWave' },
      FirstWave: {
        Type: 'Pass',
        Parameters: { index: 0, 'count.$': 'States.ArrayLength($.waves)' },
        ResultPath: '$.cursor',
        Next: 'NextWave?',
      },
      'NextWave?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.cursor.index', NumericLessThanPath: '$.cursor.count', Next: 'Wave' }],
        Default: 'Report',
      },
      Wave: {
        Type: 'Pass',
        Parameters: { 'value.$': 'States.ArrayGetItem($.waves, $.cursor.index)' },
        ResultPath: '$.wave',
        Next: 'Members',
      },
      Members: members,
      WaveEnded: invoke(
        'waveEnded',
        { 'recoveryId.$': '$.recoveryId', 'wave.$': '$.wave.value.wave', 'results.$': '$.results' },
        { 'stop.$': '$.Payload.stop' },
        { ResultPath: '$.verdict', Catch: catchToReport, Next: 'StopLaterWaves?' },
      ),
      'StopLaterWaves?': {
        Type: 'Choice',
        Choices: [{ Variable: '$.verdict.stop', BooleanEquals: true, Next: 'CriticalMemberFailed' }],
        Default: 'NextWave',
      },
      CriticalMemberFailed: {
        Type: 'Pass',
        Parameters: {
          Error: RECOVERY_ERRORS.criticalFailed,
          'Cause.$': "States.Format('a critical member of wave {} failed: later waves do not run', $.wave.value.wave)",
        },
        ResultPath: '$.error',
        Next: 'Report',
      },
      NextWave: {
        Type: 'Pass',
        Parameters: { 'index.$': 'States.MathAdd($.cursor.index, 1)', 'count.$': '$.cursor.count' },
        ResultPath: '$.cursor',
        Next: 'NextWave?',
      },
      // Input: {recoveryId, error?} (and the plan's fields, which the report's input schema drops).
      Report: invoke(
        'report',
        '$',
        { 'outcome.$': '$.Payload.outcome', 'text.$': '$.Payload.text' },
        { Retry: REPORT_RETRY, ResultPath: '$.report', Next: 'Outcome?' },
      ),
      'Outcome?': {
        Type: 'Choice',
        Choices: [
          {
            Or: [
              { Variable: '$.report.outcome', StringEquals: 'succeeded' },
              { Variable: '$.report.outcome', StringEquals: 'partial' },
            ],
            Next: 'Recovered',
          },
        ],
        Default: 'NotRecovered',
      },
      Recovered: { Type: 'Succeed', OutputPath: '$.report' },
      NotRecovered: { Type: 'Fail', Error: RECOVERY_FAILED_ERROR, CausePath: '$.report.text' },
    },
  };
}
