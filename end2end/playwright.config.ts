import { defineConfig } from '@playwright/test';

// Playwright drives Debian's Chromium (never a downloaded browser), with the flags that keep
// it quiet on a machine without outside network.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = process.env.E2E_BASE_URL ?? `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'hydrated', use: { javaScriptEnabled: true }, testIgnore: /no-js/ },
    { name: 'no-js', use: { javaScriptEnabled: false }, testMatch: /no-js/ },
  ],
  webServer: process.env.E2E_BASE_URL
    ? undefined
    : {
        command: 'bash ../scripts/e2e-server',
        url: `${baseURL}/healthz`,
        env: { E2E_PORT: String(port) },
        reuseExistingServer: false,
        timeout: 120_000,
        stdout: 'ignore',
        stderr: 'pipe',
      },
});
