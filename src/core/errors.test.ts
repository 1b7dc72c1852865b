import { describe, expect, it } from 'vitest';
import { CancelledError, ConfigError, JobTimeoutError, NonRetriableError, NotFoundError, RetryAfterError, ShutdownError, TimeoutError } from './errors.js';

describe('retry-steering errors', () => {
  it('are recognised even when thrown by another copy of the class (users\' modules import hearth/sdk)', () => {
    // What a separately compiled copy of errors.ts produces: same brand, different class.
    const brand = Symbol.for('hearth.NonRetriableError');
    class ForeignNonRetriable extends Error {
      readonly [brand] = true;
    }
    expect(new ForeignNonRetriable('x')).toBeInstanceOf(NonRetriableError);
    expect(new Error('x')).not.toBeInstanceOf(NonRetriableError);
    expect(new TimeoutError('x')).not.toBeInstanceOf(NonRetriableError);
  });

  it('keeps ordinary instanceof behaviour', () => {
    const error = new RetryAfterError('later', new Date(0));
    expect(error).toBeInstanceOf(RetryAfterError);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(NonRetriableError);
    expect(error.retryAt.getTime()).toBe(0);
  });
});

describe('errors that steer the engine', () => {
  it('live here: a job timeout is a timeout; a shutdown is neither a cancel nor a timeout', () => {
    expect(new JobTimeoutError('job timed out')).toBeInstanceOf(TimeoutError);
    expect(new JobTimeoutError('x').name).toBe('JobTimeoutError');
    const shutdown = new ShutdownError('appliance shutting down');
    expect(shutdown).not.toBeInstanceOf(CancelledError);
    expect(shutdown).not.toBeInstanceOf(TimeoutError);
    expect(shutdown.name).toBe('ShutdownError');
  });

  it('keep the error they wrap as `cause`', () => {
    const cause = new Error('ENOENT');
    expect(new ConfigError([], { cause }).cause).toBe(cause);
    expect(new NotFoundError('job', 'x', { cause }).cause).toBe(cause);
    expect(new RetryAfterError('later', new Date(0), { cause }).cause).toBe(cause);
    expect(new NonRetriableError('no', { cause }).cause).toBe(cause);
  });
});
