/**
 * A command failed in a way the user should read about, not a bug: printed as
 * `hearth: <message>` and exit code 1, without a stack trace.
 */
export class CliFailure extends Error {
  override name = 'CliFailure';
}
