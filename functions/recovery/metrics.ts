import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { RecoveryMetrics } from '#core/recovery/service.ts';

/**
 * Powertools metrics of finished recoveries. A recovery drill's outcome is published per source
 * (RecoveryDrillFailed 0/1: the recovery drill alarm watches it), with its total time.
 */
export function recoveryMetrics(metrics: Metrics): RecoveryMetrics {
  return {
    recoveryFinished: ({ source, mode, outcome, totalSeconds }) => {
      const ok = outcome === 'succeeded';
      if (mode === 'drill') {
        const single = metrics.singleMetric();
        single.addDimensions({ Source: source });
        single.addMetric('RecoveryDrillFailed', MetricUnit.Count, ok ? 0 : 1);
        single.addMetric('RecoveryDrillSeconds', MetricUnit.Seconds, totalSeconds);
      } else {
        metrics.addMetric(ok ? 'RecoverySucceeded' : 'RecoveryNotSucceeded', MetricUnit.Count, 1);
        metrics.addMetric('RecoverySeconds', MetricUnit.Seconds, totalSeconds);
      }
    },
  };
}
