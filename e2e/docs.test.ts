import { readFile } from 'node:fs/promises';
import { API_ERRORS } from '@segmint/protocol';
import { ORCHESTRATOR_KNOBS } from '../orchestrator/src/config.js';
import { WORKER_KNOBS } from '../worker/src/config.js';

let readme: string;
beforeAll(async () => {
  readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
});

describe('README', () => {
  it('lists every API error code with its status', () => {
    for (const [code, { status }] of Object.entries(API_ERRORS)) expect(readme).toContain(`| \`${code}\` | ${status} |`);
  });
  it('documents every orchestrator and worker environment variable and flag', () => {
    for (const k of [...Object.values(ORCHESTRATOR_KNOBS), ...Object.values(WORKER_KNOBS)]) {
      expect(readme).toContain(`\`${k.env}\``);
      expect(readme).toContain(`\`${k.flag}\``);
    }
  });
  it('shows the two commands', () => {
    expect(readme).toContain('make demo');
    expect(readme).toContain('make test');
  });
});
