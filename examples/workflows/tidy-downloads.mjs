// A durable workflow (an "atom"): list old files, ask in the inbox whether to
// delete them, wait (holding no worker and no memory) for the answer, act on
// it, and have a child job write a report. See "Workflows" in the README.
//
// Every step has an id that is unique in the run. A completed step is never
// run again: after a restart, or when the answer arrives, the function runs
// from the top and each finished step returns its saved result at once.
// Code outside steps may run more than once, so it only computes.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

const DAY = 86_400_000;

export default async function tidyDownloads({ step, args = {}, dataDir, configDir, log }) {
  const demo = !args.folder;
  const folder = demo ? join(dataDir, 'demo-downloads') : isAbsolute(args.folder) ? args.folder : resolve(configDir, args.folder);
  const days = Number(args.olderThanDays ?? 30);

  if (demo) {
    // A fresh machine has nothing to tidy: make a demo folder with a few old files.
    await step.run('make-demo-files', () => {
      mkdirSync(folder, { recursive: true });
      const files = { 'old-invoice.pdf': 90, 'setup-2019.exe': 400, 'IMG_2041.heic': 45, 'shopping-list.txt': 2 };
      for (const [name, age] of Object.entries(files)) {
        const path = join(folder, name);
        if (existsSync(path)) continue;
        writeFileSync(path, `demo file, ${age} days old\n`);
        const then = new Date(Date.now() - age * DAY);
        utimesSync(path, then, then);
      }
      return Object.keys(files).length;
    });
  }

  const old = await step.run('list-old-files', () => {
    const cutoff = Date.now() - days * DAY;
    if (!existsSync(folder)) return [];
    return readdirSync(folder)
      .map((name) => ({ name, info: statSync(join(folder, name)) }))
      .filter(({ info }) => info.isFile() && info.mtimeMs < cutoff)
      .map(({ name, info }) => ({ name, bytes: info.size }));
  });
  if (old.length === 0) {
    log(`nothing older than ${days} days in ${folder}`);
    return { folder, deleted: [] };
  }
  log(`old files in ${folder}: ${old.map((file) => file.name).join(', ')}`);

  const answer = await step.waitForInput('confirm-delete', {
    prompt: `Delete these ${old.length} files older than ${days} days from ${demo ? 'the demo folder' : folder}?`,
    choices: ['Delete', 'Keep'],
    timeout: '3d', // no answer in 3 days: keep them
  });

  const deleted = answer.value === 'Delete'
    ? await step.run('delete', () => {
        const gone = [];
        for (const { name } of old) {
          const path = join(folder, name);
          if (existsSync(path)) rmSync(path);
          gone.push(name);
        }
        return gone;
      })
    : [];
  const decision = answer.timedOut ? 'no answer' : answer.value;

  // A child run of another job: this run waits for it without holding a worker.
  const report = await step.invoke('report', { job: 'tidy-report', input: { folder, decision, deleted, kept: old.length - deleted.length } });
  return { folder, decision, deleted, report };
}
