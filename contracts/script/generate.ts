/** Writes the generated ABI and bytecode files (see artifacts.ts). */
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { renderArtifacts } from './artifacts.js';

for (const file of await renderArtifacts()) {
  await writeFile(file.path, file.content);
  console.log(`wrote ${relative(process.cwd(), file.path)}`);
}
