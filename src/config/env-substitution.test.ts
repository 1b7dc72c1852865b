import { describe, expect, it } from 'vitest';
import { substituteEnv } from './env-substitution.js';

const env = { HOME: '/home/pi', EMPTY: '', PORT: '9000' };

describe('substituteEnv', () => {
  it('leaves text without references untouched', () => {
    expect(substituteEnv('echo $HOME and $ alone', env)).toEqual({ ok: true, value: 'echo $HOME and $ alone' });
  });

  it('replaces ${VAR} and uses ${VAR:default} only when unset or empty', () => {
    expect(substituteEnv('${HOME}/x:${PORT:1}:${MISSING:fallback}:${EMPTY:dflt}', env)).toEqual({
      ok: true,
      value: '/home/pi/x:9000:fallback:dflt',
    });
  });

  it('keeps an empty value when there is no default', () => {
    expect(substituteEnv('[${EMPTY}]', env)).toMatchObject({ ok: true, value: '[]' });
  });

  it('allows colons, spaces and an empty string in defaults', () => {
    expect(substituteEnv('${URL:http://x:80/a b}|${NONE:}', env)).toMatchObject({ ok: true, value: 'http://x:80/a b|' });
  });

  it('turns $${ into a literal ${ and does not substitute after it', () => {
    expect(substituteEnv('$${HOME} ${HOME} $${x#y}', env)).toMatchObject({ ok: true, value: '${HOME} /home/pi ${x#y}' });
  });

  it('reports every unset variable', () => {
    expect(substituteEnv('${A} ${B:ok} ${C}', env)).toEqual({
      ok: false,
      problems: [
        'environment variable A is not set (write ${A:default} to give a default)',
        'environment variable C is not set (write ${C:default} to give a default)',
      ],
    });
  });

  it('rejects references that are not names, and an unterminated ${', () => {
    expect(substituteEnv('${1X}', env)).toEqual({
      ok: false,
      problems: ['invalid variable reference "${1X}" (use ${NAME} or ${NAME:default}; write "$${" for a literal "${")'],
    });
    expect(substituteEnv('a ${HOME', env)).toEqual({ ok: false, problems: ['unterminated "${" (write "$${" for a literal "${")'] });
  });
});
