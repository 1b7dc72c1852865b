/**
 * The task dependency graph of one job. `dependsOn` maps each task to the
 * tasks it waits for; names are given in declaration order, which breaks
 * ties so the order is stable and reads like the file.
 */
export type Dependencies = ReadonlyMap<string, readonly string[]>;

/**
 * Every dependency cycle, one per strongly connected group of tasks, each as
 * a path that starts and ends at the group's first-declared task and follows
 * "depends on" edges: `[a, b, c, a]` means a depends on b, b on c, c on a.
 * Self-dependencies are not reported here (the caller words them differently).
 */
export function findCycles(names: readonly string[], dependsOn: Dependencies): string[][] {
  const cycles: string[][] = [];
  for (const group of stronglyConnectedGroups(names, dependsOn)) {
    if (group.size < 2) continue;
    const start = names.find((name) => group.has(name))!;
    cycles.push(shortestCycle(start, group, dependsOn));
  }
  return cycles;
}

/** Kahn's algorithm; among ready tasks the first-declared goes first. Assumes no cycles. */
export function topologicalOrder(names: readonly string[], dependsOn: Dependencies): string[] {
  const order: string[] = [];
  const done = new Set<string>();
  const known = new Set(names);
  while (order.length < names.length) {
    const next = names.find(
      (name) => !done.has(name) && (dependsOn.get(name) ?? []).every((dep) => done.has(dep) || !known.has(dep) || dep === name),
    );
    if (next === undefined) throw new Error(`topologicalOrder: cycle among ${names.filter((n) => !done.has(n)).join(', ')}`);
    order.push(next);
    done.add(next);
  }
  return order;
}

/** Tarjan's algorithm; recursive, which is fine because task graphs are tiny. */
function stronglyConnectedGroups(names: readonly string[], dependsOn: Dependencies): Set<string>[] {
  const known = new Set(names);
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: Set<string>[] = [];
  let counter = 0;

  const visit = (name: string): void => {
    index.set(name, counter);
    lowLink.set(name, counter);
    counter += 1;
    stack.push(name);
    onStack.add(name);
    for (const dep of dependsOn.get(name) ?? []) {
      if (!known.has(dep)) continue;
      if (!index.has(dep)) {
        visit(dep);
        lowLink.set(name, Math.min(lowLink.get(name)!, lowLink.get(dep)!));
      } else if (onStack.has(dep)) {
        lowLink.set(name, Math.min(lowLink.get(name)!, index.get(dep)!));
      }
    }
    if (lowLink.get(name) === index.get(name)) {
      const group = new Set<string>();
      for (;;) {
        const member = stack.pop()!;
        onStack.delete(member);
        group.add(member);
        if (member === name) break;
      }
      groups.push(group);
    }
  };

  for (const name of names) if (!index.has(name)) visit(name);
  return groups;
}

/** Breadth-first from `start` back to itself, staying inside the group. */
function shortestCycle(start: string, group: ReadonlySet<string>, dependsOn: Dependencies): string[] {
  const cameFrom = new Map<string, string>();
  const queue: string[] = [start];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const dep of dependsOn.get(current) ?? []) {
      if (!group.has(dep)) continue;
      if (dep === start) return [...pathTo(current, start, cameFrom), start];
      if (cameFrom.has(dep) || dep === current) continue;
      cameFrom.set(dep, current);
      queue.push(dep);
    }
  }
  throw new Error(`shortestCycle: ${start} is not on a cycle`);
}

function pathTo(end: string, start: string, cameFrom: ReadonlyMap<string, string>): string[] {
  const path = [end];
  let current = end;
  while (current !== start) {
    current = cameFrom.get(current)!;
    path.unshift(current);
  }
  return path;
}
