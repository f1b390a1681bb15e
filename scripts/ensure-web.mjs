// `npm start` serves the web client: build it once if there is no build yet.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const web = new URL('../packages/web/', import.meta.url);
if (existsSync(new URL('package.json', web)) && !existsSync(new URL('dist/index.html', web))) {
  console.error('parley: building the web client (first start only)...');
  const result = spawnSync('npm', ['run', 'build', '-w', '@parley/web'], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('parley: the web client did not build; the API still starts');
  }
}
