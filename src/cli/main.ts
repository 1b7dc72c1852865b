/**
 * The `hearth` CLI as an ES module (dist/cli/main.js): runs on import with
 * the real process streams. bin/hearth.js runs the same code from the
 * start-up bundle (cli/entry.ts). The logic lives in cli.ts so tests call
 * runCli with fakes instead of importing this file.
 */
import { main } from './entry.js';

export { main };

process.exitCode = await main(process.argv.slice(2));
