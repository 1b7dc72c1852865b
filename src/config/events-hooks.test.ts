import { describe, expect, it } from 'vitest';
import { loadText, problemsOf, yamlLines } from './testing.js';

/** `on: { event }` on jobs and the top-level `hooks:` map. */

describe('on: { event }', () => {
  it('takes one event name or a list, next to a schedule or without one', () => {
    const config = loadText(
      yamlLines(
        'jobs:',
        '  ring:',
        '    run: ./ring.sh',
        '    on: { event: doorbell }',
        '  log:',
        '    run: ./log.sh',
        '    schedule: { every: 1h }',
        '    on:',
        '      event: [doorbell, motion/kitchen, doorbell]',
      ),
    );
    expect(config.jobs.ring!.on).toEqual({ events: ['doorbell'] });
    expect(config.jobs.log!.on).toEqual({ events: ['doorbell', 'motion/kitchen'] });
    expect(config.jobs.log!.schedule).toBeDefined();
  });

  it('reports a missing, empty or invalid event name at its line', () => {
    expect(problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    on: {}'))).toEqual([
      'hearth.yaml:4:5: jobs.a.on: needs event: the name of the event that starts this job',
    ]);
    expect(problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    on: { event: "two words" }'))).toEqual([
      'hearth.yaml:4:18: jobs.a.on.event: invalid event name "two words": use 1-128 letters, digits, ".", "_", "-", ":" or "/", starting with a letter or digit',
    ]);
    expect(problemsOf(yamlLines('jobs:', '  a:', '    run: x', '    on: { evnt: doorbell }'))).toEqual([
      'hearth.yaml:4:5: jobs.a.on: needs event: the name of the event that starts this job',
      'hearth.yaml:4:11: jobs.a.on.evnt: unknown key "evnt", did you mean "event"? (allowed: event)',
    ]);
  });
});

describe('hooks', () => {
  it('names a job and a secret, which may come from the environment', () => {
    const config = loadText(
      yamlLines('jobs:', '  ring: { run: ./ring.sh }', 'hooks:', '  doorbell: { job: ring, secret: "${DOORBELL_SECRET}" }'),
      { env: { DOORBELL_SECRET: 's3cret-from-env' } },
    );
    expect(config.hooks).toEqual({ doorbell: { name: 'doorbell', job: 'ring', secret: 's3cret-from-env' } });
  });

  it("reads DESIGN.md's line as written: an unquoted ${VAR} in a flow mapping", () => {
    const config = loadText(
      yamlLines(
        'jobs:',
        '  ring: { run: ./ring.sh, env: { WHO: ${WHO:nobody} } }',
        'hooks:',
        '  doorbell: { job: ring, secret: ${DOORBELL_SECRET} }   # POST /hooks/doorbell',
      ),
      { env: { DOORBELL_SECRET: 'from-env' } },
    );
    expect(config.hooks?.doorbell?.secret).toBe('from-env');
    expect(config.jobs.ring!.env).toEqual({ WHO: 'nobody' });
    // An unset variable is still reported, at its line.
    expect(problemsOf(yamlLines('jobs:', '  ring: { run: x }', 'hooks:', '  doorbell: { job: ring, secret: ${UNSET_SECRET} }'))[0]).toMatch(
      /^hearth\.yaml:4:\d+: hooks\.doorbell\.secret: .*UNSET_SECRET/,
    );
    // A file broken for another reason is still reported as it is.
    expect(problemsOf(yamlLines('jobs:', '  ring: { run: x, env: { A: ${A} }', 'hooks: {'))[0]).toMatch(/YAML syntax error/);
  });

  it('a hook naming an unknown job is a config error at its line', () => {
    expect(problemsOf(yamlLines('jobs:', '  ring: { run: x }', 'hooks:', '  doorbell: { job: rnig, secret: abc }'))).toEqual([
      'hearth.yaml:4:20: hooks.doorbell.job: unknown job "rnig", did you mean "ring"? (jobs: ring)',
    ]);
  });

  it('needs a job and a non-empty secret, and never quotes the secret', () => {
    expect(problemsOf(yamlLines('jobs:', '  ring: { run: x }', 'hooks:', '  doorbell: { job: ring }'))).toEqual([
      'hearth.yaml:4:3: hooks.doorbell.secret: is required: callers send it as "Authorization: Bearer <secret>" or ?token=',
    ]);
    expect(problemsOf(yamlLines('jobs:', '  ring: { run: x }', 'hooks:', '  doorbell: { job: ring, secret: "" }'))).toEqual([
      'hearth.yaml:4:34: hooks.doorbell.secret: must not be empty',
    ]);
    const problems = problemsOf(yamlLines('jobs:', '  ring: { run: x }', 'hooks:', '  doorbell: { job: ring, secret: [hunter2] }'));
    expect(problems).toEqual(['hearth.yaml:4:34: hooks.doorbell.secret: expected a string']);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('checks hook names like job names', () => {
    expect(problemsOf(yamlLines('jobs:', '  ring: { run: x }', 'hooks:', '  "door bell": { job: ring, secret: abc }'))[0]).toMatch(
      /^hearth\.yaml:4:3: hooks\.door bell: invalid hook name "door bell"/,
    );
  });
});
