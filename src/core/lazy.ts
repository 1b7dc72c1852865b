/**
 * A value built on its first use and kept: `const schema = lazy(() => z.strictObject(...))`, then `schema()`.
 * For what most appliances never need (the zod schemas of actions a config does not use): built when this
 * module loads, such things are heap an idle process carries for nothing.
 */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}
