// `npm run check`: types, lint and formatting at once. Each is one single-threaded process, so
// on CI's two cores the three together take about as long as tsc alone, not the sum (1.7 min one
// after the other). Each part's output is printed whole when it ends; the exit code is the
// first failure's.
import { spawn } from 'node:child_process';

const parts = ['check:types', 'check:lint', 'check:format'];
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const results = await Promise.all(
  parts.map(
    (script) =>
      new Promise((resolve) => {
        const started = Date.now();
        const child = spawn(npm, ['run', '--silent', script], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.on('close', (code) => {
          const seconds = ((Date.now() - started) / 1000).toFixed(1);
          process.stdout.write(
            `\n> ${script}: ${code === 0 ? 'ok' : `failed (${code})`} in ${seconds} s\n${output}`,
          );
          resolve(code ?? 1);
        });
      }),
  ),
);
process.exit(results.find((code) => code !== 0) ?? 0);
