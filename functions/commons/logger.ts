import { Logger } from '@aws-lambda-powertools/logger';

/**
 * What must never reach a log line, whoever logs it and however (message,
 * error, extra keys): the signing part of presigned S3 URLs (anyone holding the
 * query string can read the archive until it expires), Slack response URLs
 * (each one lets its holder post into the channel), and Slack request signatures.
 */
const REDACTIONS: readonly (readonly [RegExp, string])[] = [
  [/([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token)=)[^&\s"'<>]*/gi, '$1[redacted]'],
  [/(https:\/\/hooks\.slack\.com\/)[^\s"'<>]*/g, '$1[redacted]'],
  [/(https%3A%2F%2Fhooks\.slack\.com%2F)[^\s&"'<>]*/gi, '$1[redacted]'],
  [/\bv0=[a-f0-9]{64}\b/g, 'v0=[redacted]'],
];

/** Keys whose values are credentials outright (request headers, should an event ever be logged). */
const SECRET_KEYS = /^(authorization|x-amz-security-token|x-slack-signature|cookie)$/i;

export const redact = (text: string): string => REDACTIONS.reduce((t, [pattern, to]) => t.replace(pattern, to), text);

/** A Powertools Logger whose every string value passes through {@link redact} on its way out. */
export function lifeboatLogger(serviceName: string): Logger {
  return new Logger({
    serviceName,
    jsonReplacerFn: (key: string, value: unknown) => {
      if (typeof value !== 'string') return value;
      return SECRET_KEYS.test(key) ? '[redacted]' : redact(value);
    },
  });
}
