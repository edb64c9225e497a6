import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** Reads one tag of a host. */
export interface InstanceTagReader {
  /** The tag's value, or undefined when the host does not carry it. */
  tag(instanceId: string, key: string): Promise<string | undefined>;
}

export interface Ec2TagsConfig {
  readonly region: string | (() => Promise<string>);
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** @default https://ec2.<region>.amazonaws.com (amazonaws.com.cn in China regions) */
  readonly endpoint?: string;
  /** Attempts for throttling and 5xx answers. @default 3 */
  readonly maxAttempts?: number;
  readonly fetch?: typeof fetch;
}

/** The EC2 error codes worth another attempt (besides any 5xx). */
const RETRYABLE = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'InternalError', 'Unavailable', 'ServiceUnavailable']);

const unescapeXml = (s: string): string =>
  s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e] ?? '');

/** An EC2 API error, by its code (`UnauthorizedOperation`, `InvalidInstanceID.Malformed`, …). */
export class Ec2Error extends Error {
  constructor(
    override readonly name: string,
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/**
 * EC2 `DescribeTags` for one instance and one key, as a signed Query API call.
 * Why not `@aws-sdk/client-ec2`: one read-only call does not justify the largest
 * client of the SDK in every bundle that sends restores (they are kept near 200 KB);
 * the signing is the SDK's own (`@smithy/signature-v4`), with the caller's credentials.
 */
export class Ec2InstanceTags implements InstanceTagReader {
  private readonly signer: SignatureV4;
  private readonly fetch: typeof fetch;

  constructor(private readonly config: Ec2TagsConfig) {
    this.signer = new SignatureV4({ service: 'ec2', region: config.region, credentials: config.credentials, sha256: Hash.bind(null, 'sha256') });
    this.fetch = config.fetch ?? fetch;
  }

  private async endpoint(): Promise<URL> {
    if (this.config.endpoint) return new URL(this.config.endpoint);
    const region = typeof this.config.region === 'string' ? this.config.region : await this.config.region();
    return new URL(`https://ec2.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}/`);
  }

  async tag(instanceId: string, key: string): Promise<string | undefined> {
    const body = new URLSearchParams({
      Action: 'DescribeTags',
      Version: '2016-11-15',
      'Filter.1.Name': 'resource-id',
      'Filter.1.Value.1': instanceId,
      'Filter.2.Name': 'key',
      'Filter.2.Value.1': key,
    }).toString();
    const xml = await this.call(body);
    for (const item of xml.matchAll(/<item>([\s\S]*?)<\/item>/g)) {
      const text = item[1] ?? '';
      const itemKey = /<key>([\s\S]*?)<\/key>/.exec(text)?.[1];
      const itemResource = /<resourceId>([\s\S]*?)<\/resourceId>/.exec(text)?.[1];
      if (itemKey === undefined || unescapeXml(itemKey) !== key || itemResource !== instanceId) continue;
      return unescapeXml(/<value>([\s\S]*?)<\/value>/.exec(text)?.[1] ?? '');
    }
    return undefined;
  }

  private async call(body: string): Promise<string> {
    const url = await this.endpoint();
    const attempts = this.config.maxAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const signed = await this.signer.sign(
        new HttpRequest({
          method: 'POST',
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port ? Number(url.port) : undefined,
          path: url.pathname,
          headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
          body,
        }),
      );
      const response = await this.fetch(url, { method: 'POST', headers: signed.headers, body, signal: AbortSignal.timeout(10_000) });
      const text = await response.text();
      if (response.ok) return text;
      const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1] ?? `HTTP${response.status.toString()}`;
      const message = /<Message>([^<]{0,300})<\/Message>/.exec(text)?.[1] ?? '';
      if (attempt >= attempts || !(response.status >= 500 || RETRYABLE.has(code))) {
        throw new Ec2Error(code, `EC2 DescribeTags failed: ${code}${message ? `: ${unescapeXml(message)}` : ''}`, response.status);
      }
      // Exponential backoff with full jitter, like the SDK's standard strategy.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 100 * 2 ** attempt));
    }
  }
}
