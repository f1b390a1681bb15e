// `npm start` serves the web client: build it when there is no build, or when its sources (or
// the protocol it speaks) changed since the last one, so a pulled update is never served stale.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newest } from './newest.mjs';

const path = (p) => fileURLToPath(new URL(p, import.meta.url));
const web = path('../packages/web/');
const built = `${web}dist/index.html`;

if (existsSync(`${web}package.json`)) {
  const sources = [`${web}src`, path('../packages/protocol/src')];
  const inputs = Math.max(
    ...sources.map(newest),
    statSync(`${web}index.html`).mtimeMs,
    statSync(`${web}vite.config.ts`).mtimeMs,
  );
  if (!existsSync(built) || statSync(built).mtimeMs < inputs) {
    console.error('parley: building the web client...');
    const result = spawnSync('npm', ['run', 'build', '-w', '@parley/web'], { stdio: 'inherit' });
    if (result.status !== 0)
      console.error('parley: the web client did not build; the API still starts');
  }
}
