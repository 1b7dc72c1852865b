// The child job of tidy-downloads: writes what was tidied to a report file
// and returns its path (the parent's step.invoke returns this value).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export default async function tidyReport({ step, input, dataDir, runId }) {
  return step.run('write-report', () => {
    const dir = join(dataDir, 'reports');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `tidy-${runId}.txt`);
    const lines = [
      `Tidied ${input.folder}`,
      `decision: ${input.decision}`,
      `deleted:  ${input.deleted.length ? input.deleted.join(', ') : 'nothing'}`,
      `kept:     ${input.kept}`,
    ];
    writeFileSync(path, `${lines.join('\n')}\n`);
    return { report: path };
  });
}
