/**
 * Event names (`POST /api/events`, `on: { event }` in hearth.yaml): 1 to 128
 * letters, digits and `. _ - : /`, starting with a letter or digit, so
 * `doorbell`, `sensor.kitchen/temp` and `mail:received` all work and a name
 * is safe in a log line and a URL. Event ids (idempotency keys) are 1 to 200
 * visible ASCII characters.
 */
export const EVENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;
export const EVENT_NAME_RULE = 'use 1-128 letters, digits, ".", "_", "-", ":" or "/", starting with a letter or digit';

export const EVENT_ID_PATTERN = /^[\x21-\x7e]{1,200}$/;
export const EVENT_ID_RULE = 'use 1-200 visible ASCII characters (no spaces)';

export function isEventName(value: unknown): value is string {
  return typeof value === 'string' && EVENT_NAME_PATTERN.test(value);
}

export function isEventId(value: unknown): value is string {
  return typeof value === 'string' && EVENT_ID_PATTERN.test(value);
}
