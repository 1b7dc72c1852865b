import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { normalizeBaseUrl } from './target.js';

describe('normalizeBaseUrl', () => {
  it('keeps origin and path without trailing slashes', () => {
    expect(normalizeBaseUrl('http://raspberrypi.local:8080/')).toBe('http://raspberrypi.local:8080');
  });

  it('refuses text that is no URL as a usage error, keeping the parse error as its cause', () => {
    const error = (() => {
      try {
        normalizeBaseUrl('raspberrypi');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe('invalid URL "raspberrypi" (expected e.g. http://raspberrypi.local:8080)');
    expect((error as Error).cause).toBeInstanceOf(TypeError);
  });
});
