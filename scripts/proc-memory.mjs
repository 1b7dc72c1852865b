import { readFileSync } from 'node:fs';

/**
 * Resident memory of a process in MB, split the way it matters on a 1 GB Pi:
 * `anon` is the process's own heap and stacks; `file` is pages of mapped files,
 * mostly the node binary's code and ICU data, which the kernel shares and can
 * drop under pressure. VmRSS (`rss`) is their sum (plus shared memory).
 */
export function memoryOf(pid = process.pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), anon: field('RssAnon'), file: field('RssFile'), hwm: field('VmHWM') };
}

/** "70.1 MB (anonymous 19.6, file-backed 50.5)". */
export function describeMemory({ rss, anon, file }) {
  return `${rss.toFixed(1)} MB (anonymous ${anon.toFixed(1)}, file-backed ${file.toFixed(1)})`;
}
