import { Runtime } from 'aws-cdk-lib/aws-lambda';

/**
 * The Lambda runtime of every Lifeboat function: the latest Node.js Lambda offers
 * (cdk-nag AwsSolutions-L1). The tests run on the same major (package.json pins
 * the `node` dev dependency), so what passes here is what runs in Lambda.
 */
export const LAMBDA_RUNTIME = Runtime.NODEJS_24_X;
