import { defineConfig } from 'vitest/config';

// Unit tests of what the server and the client share beside the schemas: no server, no browser.
export default defineConfig({
  test: {
    name: 'protocol',
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
