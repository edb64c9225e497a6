/**
 * Fault: SSM throttles or fails transiently (it has no local server, so a small
 * HTTP server on 127.0.0.1 speaks its JSON protocol). The real SDK client with
 * Lifeboat's configuration retries throttling and 5xx with backoff and jitter,
 * a bounded number of times, and never retries a request SSM refused.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SsmCommandRunner } from '#core/adapters/ssm.ts';
import { SSM_CLIENT_CONFIG } from '#root/functions/commons/clients/ssm.ts';

type Answer = { status: number; type?: string };

describe('SSM throttling and transient errors (the SDK retry strategy, against a local SSM stand-in)', () => {
  let server: Server;
  let runner: SsmCommandRunner;
  let script: Answer[] = [];
  let seen: { at: number; target: string }[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        seen.push({ at: performance.now(), target: String(req.headers['x-amz-target']) });
        const next = script.shift() ?? { status: 200 };
        res.setHeader('content-type', 'application/x-amz-json-1.1');
        if (next.status === 200) {
          res.end(JSON.stringify({ Command: { CommandId: 'cmd-after-retries' } }));
          return;
        }
        res.statusCode = next.status;
        res.end(JSON.stringify({ __type: next.type, message: `${next.type ?? 'error'} from the stand-in` }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port.toString()}`;
    const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
    runner = new SsmCommandRunner(
      new SSMClient({ ...SSM_CLIENT_CONFIG, endpoint, region: 'eu-west-1', credentials }),
      new CloudWatchLogsClient({ endpoint, region: 'eu-west-1', credentials }),
      {
        restoreDocumentName: 'Lifeboat-Restore',
        outputLogGroup: '/lifeboat/commands',
      },
    );
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen = [];
  });

  const send = (): Promise<string> =>
    runner.sendRestore({
      restoreId: 'r-abc-12345678',
      instanceId: 'i-0123456789abcdef0',
      parameters: { VolumeName: 'pgdata' },
      comment: 'lifeboat r-abc-12345678',
      timeoutSeconds: 600,
    });

  it('throttled twice, then accepted: the command is sent, after backoff', async () => {
    script = [
      { status: 400, type: 'ThrottlingException' },
      { status: 400, type: 'ThrottlingException' },
    ];
    await expect(send()).resolves.toBe('cmd-after-retries');
    expect(seen.map((s) => s.target)).toEqual(Array(3).fill('AmazonSSM.SendCommand'));
  });

  it('a transient 500 and a 503 are retried', async () => {
    script = [
      { status: 500, type: 'InternalServerError' },
      { status: 503, type: 'ServiceUnavailable' },
    ];
    await expect(send()).resolves.toBe('cmd-after-retries');
    expect(seen).toHaveLength(3);
  });

  it('throttled every time: gives up after the configured attempts with the throttling error (the API answers 429)', async () => {
    script = Array.from({ length: 10 }, () => ({ status: 400, type: 'ThrottlingException' }));
    await expect(send()).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(seen).toHaveLength(SSM_CLIENT_CONFIG.maxAttempts);
    // Backoff: the attempts are spread out, not fired back to back.
    const span = (seen.at(-1)?.at ?? 0) - (seen[0]?.at ?? 0);
    expect(span).toBeGreaterThan(50);
    script = [];
  });

  it('a request SSM refuses (InvalidDocument) is not retried', async () => {
    script = [{ status: 400, type: 'InvalidDocument' }];
    await expect(send()).rejects.toMatchObject({ name: 'InvalidDocument' });
    expect(seen).toHaveLength(1);
  });
});
