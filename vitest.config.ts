import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Dawn and Chromium are heavy; two cores here.
    maxWorkers: 2,
  },
});
