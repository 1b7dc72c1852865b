import { readdirSync, readFileSync } from 'node:fs';
import type { Clock } from '../../core/clock.js';

/**
 * Process-group signalling. Every shell task leads its own process group
 * (spawned with `detached: true`, so its pgid is its pid); signalling the
 * negative pgid reaches the shell and everything it started, so grandchildren
 * never outlive a stopped task.
 */

/** How often a terminating group is checked for survivors. */
const SURVIVOR_POLL_MS = 25;

/**
 * pgid 0 means "my own group" and -1 means "every process I may signal":
 * a corrupted pid in a state file must never turn into either.
 */
function isSignallableGroup(pgid: number): boolean {
  return Number.isInteger(pgid) && pgid > 1;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** Sends `signal` to every process in the group; false if the group is gone (or was never valid). */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (!isSignallableGroup(pgid)) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Kills a process group left over from a previous crash (best effort, used at
 * start-up). Returns whether the signal was delivered. The caller should only
 * do this for a pgid recorded during the current boot (see `readBootId`):
 * after a reboot the number may belong to an unrelated process group.
 */
export function killProcessGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return signalGroup(pgid, signal);
}

/**
 * True while a group has a member that is still running. Zombies do not
 * count: inside a container whose PID 1 never reaps orphans, a killed
 * grandchild stays a zombie for ever, and `kill(-pgid, 0)` alone would report
 * the group alive until the SIGKILL deadline every time.
 */
export function isGroupAlive(pgid: number): boolean {
  if (!isSignallableGroup(pgid)) return false;
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    // EPERM: members exist but belong to someone else; still alive.
    return errorCode(error) === 'EPERM';
  }
  const members = runningGroupMembers(pgid);
  return members === undefined || members.length > 0;
}

/** True while `pid` exists and is not a zombie. */
export function isProcessRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid < 1) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
  const stat = readProcStat(String(pid));
  return stat === undefined || !isDeadState(stat.state);
}

/**
 * SIGTERM to the whole group, then SIGKILL once `graceMs` has passed if
 * anything in it is still running. Resolves when the group is gone or has
 * been sent SIGKILL.
 */
export async function terminateGroup(pgid: number, graceMs: number, clock: Clock): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = clock.now() + graceMs;
  while (isGroupAlive(pgid)) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) {
      signalGroup(pgid, 'SIGKILL');
      return;
    }
    await sleep(clock, Math.min(SURVIVOR_POLL_MS, remaining));
  }
}

/** The kernel's id of the current boot, to tell a pid recorded before a reboot from one recorded since. */
export function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve));
}

interface ProcStat {
  state: string;
  pgrp: number;
}

function isDeadState(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}

/** `/proc/<pid>/stat` is `pid (comm) state ppid pgrp …`; comm may itself hold spaces and parentheses. */
function readProcStat(pid: string): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  if (state === undefined || !Number.isInteger(pgrp)) return undefined;
  return { state, pgrp };
}

/**
 * The process groups of a run's tasks still alive after a crash, found by
 * `HEARTH_RUN_ID=<runId>` in each process's environment (/proc/PID/environ).
 * The pid a task records is only a hint: a kill -9 can come after the task
 * started but before its pid reached the disk, and then only the
 * environment tells its processes from everyone else's. Our own group is
 * never returned. Empty where /proc cannot be read.
 */
export function findRunProcessGroups(runId: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const marker = Buffer.from(`HEARTH_RUN_ID=${runId}\0`);
  // The variable starts the environment or follows another one's NUL: `XHEARTH_RUN_ID=` is not a match.
  const inside = Buffer.concat([Buffer.from([0]), marker]);
  const own = readProcStat(String(process.pid))?.pgrp;
  const groups = new Set<number>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue; // gone, or not ours to read
    }
    if (environ.indexOf(marker) !== 0 && environ.indexOf(inside) === -1) continue;
    const stat = readProcStat(entry);
    if (stat && !isDeadState(stat.state) && stat.pgrp !== own && isSignallableGroup(stat.pgrp)) groups.add(stat.pgrp);
  }
  return [...groups];
}

/** Pids of the group's non-zombie members, or undefined where /proc is unavailable (then trust kill(0)). */
function runningGroupMembers(pgid: number): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(entry);
    if (stat && stat.pgrp === pgid && !isDeadState(stat.state)) members.push(Number(entry));
  }
  return members;
}
