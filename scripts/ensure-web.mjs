// `npm start` serves the web client: build it when there is no build, or when its sources (or
// the protocol it speaks) changed since the last one, so a pulled update is never served stale.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const path = (p) => fileURLToPath(new URL(p, import.meta.url));
const web = path('../packages/web/');
const built = `${web}dist/index.html`;

/** The newest modification time under `dir` (files only). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = `${dir}/${entry.name}`;
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

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
