import { describe, expect, it } from 'vitest';
import { NonRetriableError, RetryAfterError, TimeoutError } from './errors.js';

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
