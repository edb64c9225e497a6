import { type MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** One metric with the protected volume as its dimensions (Source, Volume), published at once. */
export function volumeMetric(metrics: Metrics, dims: { source: string; volume: string }, name: string, unit: Unit, value: number): void {
  const single = metrics.singleMetric();
  single.addDimensions({ Source: dims.source, Volume: dims.volume });
  single.addMetric(name, unit, value);
}
