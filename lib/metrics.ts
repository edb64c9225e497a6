/** CloudWatch namespace of every Lifeboat metric (Powertools Metrics in the functions, alarms and dashboard in CDK). */
export const METRICS_NAMESPACE = 'Lifeboat';
/** The `service` dimension Powertools adds to every metric (the functions' serviceName). */
export const METRICS_SERVICE = 'lifeboat';
