/**
 * The target's `lifeboat:sources` tag is read with EC2 DescribeTags (a signed Query API
 * call; no EC2 SDK client in the bundles). EC2 has no local server: a stand-in on
 * 127.0.0.1 checks what arrives and answers as EC2 does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Ec2Error, Ec2InstanceTags } from '#core/adapters/ec2-tags.ts';

interface Seen {
  form: URLSearchParams;
  authorization: string;
  contentType: string;
  token: string | undefined;
}
type Answer = { status: number; body: string };

const tagSet = (items: { id: string; key: string; value: string }[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><tagSet>${items
    .map((i) => `<item><resourceId>${i.id}</resourceId><resourceType>instance</resourceType><key>${i.key}</key><value>${i.value}</value></item>`)
    .join('')}</tagSet></DescribeTagsResponse>`;
const ec2Error = (code: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${code} from the stand-in</Message></Error></Errors><RequestID>r-2</RequestID></Response>`;

describe('EC2 DescribeTags for a target host (signed, against a local EC2 stand-in)', () => {
  let server: Server;
  let tags: Ec2InstanceTags;
  let seen: Seen[] = [];
  let script: Answer[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({
          form: new URLSearchParams(body),
          authorization: String(req.headers.authorization),
          contentType: String(req.headers['content-type']),
          token: req.headers['x-amz-security-token'] as string | undefined,
        });
        const next = script.shift() ?? { status: 200, body: tagSet([]) };
        res.writeHead(next.status, { 'content-type': 'text/xml' }).end(next.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    tags = new Ec2InstanceTags({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret', sessionToken: 'token-1' },
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}/`,
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen = [];
    script = [];
  });

  it('asks for exactly one instance and one key, signed with SigV4 for ec2 in the region, and returns the value', async () => {
    script = [{ status: 200, body: tagSet([{ id: 'i-0123456789abcdef0', key: 'lifeboat:sources', value: 'db1,billing &amp; co' }]) }];
    await expect(tags.tag('i-0123456789abcdef0', 'lifeboat:sources')).resolves.toBe('db1,billing & co');
    expect(seen).toHaveLength(1);
    const [call] = seen;
    expect(Object.fromEntries(call?.form ?? [])).toEqual({
      Action: 'DescribeTags',
      Version: '2016-11-15',
      'Filter.1.Name': 'resource-id',
      'Filter.1.Value.1': 'i-0123456789abcdef0',
      'Filter.2.Name': 'key',
      'Filter.2.Value.1': 'lifeboat:sources',
    });
    expect(call?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/ec2\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[a-f0-9]{64}$/,
    );
    expect(call?.token).toBe('token-1');
    expect(call?.contentType).toContain('application/x-www-form-urlencoded');
  });

  it('a host without the tag (or an answer about another resource or key) is undefined', async () => {
    script = [
      { status: 200, body: tagSet([]) },
      {
        status: 200,
        body: tagSet([
          { id: 'i-0fffffffffffffff0', key: 'lifeboat:sources', value: '*' },
          { id: 'i-0123456789abcdef0', key: 'other', value: '*' },
        ]),
      },
    ];
    await expect(tags.tag('i-0123456789abcdef0', 'lifeboat:sources')).resolves.toBeUndefined();
    await expect(tags.tag('i-0123456789abcdef0', 'lifeboat:sources')).resolves.toBeUndefined();
  });

  it('throttling and 5xx are retried; a refusal (no permission, malformed id) is an error named by its code, at once', async () => {
    script = [
      { status: 503, body: ec2Error('RequestLimitExceeded') },
      { status: 500, body: ec2Error('InternalError') },
      { status: 200, body: tagSet([{ id: 'i-0123456789abcdef0', key: 'lifeboat:sources', value: 'db1' }]) },
    ];
    await expect(tags.tag('i-0123456789abcdef0', 'lifeboat:sources')).resolves.toBe('db1');
    expect(seen).toHaveLength(3);

    seen = [];
    script = [{ status: 403, body: ec2Error('UnauthorizedOperation') }];
    await expect(tags.tag('i-0123456789abcdef0', 'lifeboat:sources')).rejects.toMatchObject({ name: 'UnauthorizedOperation', statusCode: 403 });
    script = [{ status: 400, body: ec2Error('InvalidInstanceID.Malformed') }];
    const malformed = await tags.tag('i-0123', 'lifeboat:sources').catch((e: unknown) => e);
    expect(malformed).toBeInstanceOf(Ec2Error);
    expect((malformed as Ec2Error).name).toBe('InvalidInstanceID.Malformed');
    expect(seen).toHaveLength(2);
  });
});
