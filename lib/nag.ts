import { Stack, Token, Validations } from 'aws-cdk-lib';
import { CfnBucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag AwsSolutions findings on a construct and its children, each
 * with the reason it is acceptable. `finding` narrows a rule to one finding, e.g.
 * `Resource::*` for IAM5, so other wildcards are still reported. A function's
 * findings include its role's (a LifeboatFunction's role sits beside it, not under it).
 */
export function acknowledgeNag(scope: IConstruct, reason: string, ...rules: { rule: string; findings?: string[] }[]): void {
  const scopes: IConstruct[] = [scope];
  if (scope instanceof LambdaFunction && scope.role && !scope.role.node.path.startsWith(`${scope.node.path}/`)) scopes.push(scope.role);
  const stack = Stack.of(scope);
  for (const { rule, findings } of rules) {
    const ids = findings ? [...new Set(findings.flatMap((f) => inEnvironment(stack, f)))].map((f) => `AwsSolutions-${rule}[${f}]`) : [`AwsSolutions-${rule}`];
    for (const s of scopes) for (const id of ids) Validations.of(s).acknowledge({ id, reason });
  }
}

/**
 * A finding as cdk-nag spells it in a stack with an explicit environment (the DR stack, and the
 * primary with replication): ARNs CDK formats there carry the literal region, account and
 * partition instead of `<AWS::Region>`, `<AWS::AccountId>` and `<AWS::Partition>`, while
 * explicit pseudo parameters stay; every mix of the two is acknowledged.
 */
function inEnvironment(stack: Stack, finding: string): string[] {
  const literals: [string, string][] = (
    [
      ['<AWS::Region>', stack.region],
      ['<AWS::AccountId>', stack.account],
      ['<AWS::Partition>', stack.partition],
    ] as [string, string][]
  ).filter(([pseudo, value]) => !Token.isUnresolved(value) && finding.includes(pseudo));
  let variants = [finding];
  for (const [pseudo, value] of literals) variants = variants.flatMap((v) => [v, v.split(pseudo).join(value)]);
  return variants;
}

/** The wildcard X-Ray puts in every traced function's policy: AWS offers nothing narrower. */
export const XRAY_WILDCARD = 'Resource::*';
/** CDK's own singleton functions (bucket notifications) still use this: logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents on every log group. */
export const LAMBDA_BASIC_EXECUTION = 'Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

/** How cdk-nag spells the ARN of an archive-prefix wildcard, for a new or an imported bucket. */
export function objectsFinding(bucket: IBucket, prefix: string): string {
  const cfn = bucket.node.defaultChild;
  if (cfn instanceof CfnBucket) return `Resource::<${Stack.of(bucket).getLogicalId(cfn)}.Arn>/${prefix}/*`;
  return `Resource::arn:<AWS::Partition>:s3:::${bucket.bucketName}/${prefix}/*`;
}

/** How cdk-nag spells an ARN that CloudFormation joins (resource references and pseudo parameters in angle brackets). */
export function nagArn(stack: Stack, arn: string): string {
  const resolved = stack.resolve(arn) as unknown;
  if (typeof resolved === 'string') return resolved;
  const join = (resolved as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) return JSON.stringify(resolved);
  return join[1]
    .map((p) => {
      if (typeof p === 'string') return p;
      const o = p as { Ref?: string; 'Fn::GetAtt'?: string[] };
      return o.Ref !== undefined ? `<${o.Ref}>` : `<${(o['Fn::GetAtt'] ?? []).join('.')}>`;
    })
    .join(join[0]);
}
