/** Errors the API shows to its caller (status < 500); everything else is a generic 500. */
export class ClientError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export class NotFoundError extends ClientError {
  override readonly name = 'NotFoundError';
  constructor(message: string) {
    super(404, message);
  }
}

export class ConflictError extends ClientError {
  override readonly name = 'ConflictError';
  constructor(message: string, details?: Record<string, unknown>) {
    super(409, message, details);
  }
}
