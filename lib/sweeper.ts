import { Duration } from 'aws-cdk-lib';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import type { SweeperEnv } from '../functions/sweeper/env.ts';
import { completionEnvironment, grantFinishRestores, type CompletionProps } from './completion.ts';
import { ruleToFunction } from './event-target.ts';
import { LifeboatFunction } from './lifeboat-function.ts';

export interface SweeperProps extends CompletionProps {
  /** How often the sweeper runs. @default 5 minutes */
  readonly every?: Duration;
  /** A restore without progress for this long is checked with SSM. @default 10 minutes */
  readonly staleAfter?: Duration;
  /** The restore command's timeout on the host. @default 2 hours (the restore service's default) */
  readonly commandTimeout?: Duration;
  /** Grace after that timeout before a command SSM still calls running is treated as lost. @default 15 minutes */
  readonly margin?: Duration;
}

/**
 * Finishes restores whose completion never arrived: on a schedule, asks SSM what
 * became of every restore that stopped making progress, and ends it through the
 * completion path (record, lock, drill proof, metrics, notification).
 */
export class Sweeper extends Construct {
  readonly function: LifeboatFunction<SweeperEnv>;

  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const environment: SweeperEnv = {
      ...completionEnvironment(props),
      STALE_SECONDS: (props.staleAfter ?? Duration.minutes(10)).toSeconds().toString(),
      COMMAND_TIMEOUT_SECONDS: (props.commandTimeout ?? Duration.hours(2)).toSeconds().toString(),
      MARGIN_SECONDS: (props.margin ?? Duration.minutes(15)).toSeconds().toString(),
    };
    const fn = new LifeboatFunction(this, 'Function', { entry: 'sweeper/index.ts', environment, timeout: Duration.minutes(2) });
    this.function = fn;
    // ListCommandInvocations: what SSM knows of a command, or of a restore that was never linked to one.
    grantFinishRestores(fn, props, ['ssm:ListCommandInvocations']);
    ruleToFunction(this, 'Every', {
      description: 'Lifeboat: finish restores whose completion event was lost',
      schedule: Schedule.rate(props.every ?? Duration.minutes(5)),
      target: fn,
    });
  }
}
