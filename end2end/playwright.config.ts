import { defineConfig } from '@playwright/test';

// Playwright drives Debian's Chromium (never a downloaded browser), with the flags that keep
// it quiet on a machine without outside network.
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = process.env.E2E_BASE_URL ?? `http://127.0.0.1:${port}`;
// Real peers on loopback: an OpenID Connect provider and an SMTP server (end2end/support).
const idpPort = 3200;
const smtpPort = 2525;
const mailApiPort = 2580;
export const mailApi = `http://127.0.0.1:${mailApiPort}`;
// The vendor's usage-report receiver (HTTPS with a private CA) and its test API.
const reportsPort = 3300;
const reportsApiPort = 3301;
export const reportsApi = `http://127.0.0.1:${reportsApiPort}`;
const reportsDir = `${process.env.TMPDIR ?? '/tmp'}/bandpool-e2e-reports-${reportsPort}`;
const reportsToken = 'e2e-reporting-token';
// The demo Owner's password in this test deployment (the product generates one when unset).
export const demoPassword = 'e2e demo password, not secret';

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
    // Signs the demo Owner in once; the other projects start from that session.
    { name: 'sign-in', testMatch: /sign-in\.setup\.ts/ },
    {
      name: 'hydrated',
      use: { javaScriptEnabled: true, storageState: '.auth/owner.json' },
      testIgnore: /no-js/,
      dependencies: ['sign-in'],
    },
    {
      name: 'no-js',
      use: { javaScriptEnabled: false, storageState: '.auth/owner.json' },
      testMatch: /no-js/,
      dependencies: ['sign-in'],
    },
  ],
  webServer: process.env.E2E_BASE_URL
    ? undefined
    : [
        {
          command: 'node support/idp.mjs',
          url: `http://127.0.0.1:${idpPort}/.well-known/openid-configuration`,
          env: {
            BANDPOOL_TEST_IDP_PORT: String(idpPort),
            BANDPOOL_TEST_IDP_REDIRECTS: `${baseURL}/auth/oidc/callback`,
          },
          reuseExistingServer: false,
          timeout: 30_000,
          stdout: 'ignore',
          stderr: 'pipe',
        },
        {
          command: 'node support/mail.mjs',
          url: `${mailApi}/health`,
          env: { BANDPOOL_TEST_SMTP_PORT: String(smtpPort), BANDPOOL_TEST_MAIL_API_PORT: String(mailApiPort) },
          reuseExistingServer: false,
          timeout: 30_000,
          stdout: 'ignore',
          stderr: 'pipe',
        },
        {
          command: 'node support/reports.mjs',
          url: `${reportsApi}/health`,
          env: {
            BANDPOOL_TEST_REPORTS_PORT: String(reportsPort),
            BANDPOOL_TEST_REPORTS_API_PORT: String(reportsApiPort),
            BANDPOOL_TEST_REPORTS_DIR: reportsDir,
            BANDPOOL_TEST_REPORTS_TOKEN: reportsToken,
          },
          reuseExistingServer: false,
          timeout: 30_000,
          stdout: 'ignore',
          stderr: 'pipe',
        },
        {
          command: 'bash ../scripts/e2e-server',
          url: `${baseURL}/healthz`,
          env: {
            E2E_PORT: String(port),
            BANDPOOL_PUBLIC_URL: baseURL,
            BANDPOOL_DEMO_PASSWORD: demoPassword,
            BANDPOOL_OIDC_ISSUER: `http://127.0.0.1:${idpPort}`,
            BANDPOOL_OIDC_CLIENT_ID: 'bandpool',
            BANDPOOL_OIDC_CLIENT_SECRET: 'bandpool-test-secret',
            // Both ways in, so one deployment shows both.
            BANDPOOL_LOCAL_ACCOUNTS: 'true',
            BANDPOOL_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
            BANDPOOL_MAIL_FROM: 'Bandpool <portal@bandpool.test>',
            // Usage reports go to the receiver above; the deployment makes its signing key and
            // registers the public half there (scripts/e2e-server).
            BANDPOOL_METERED_REPORTS_URL: `https://127.0.0.1:${reportsPort}`,
            BANDPOOL_METERED_REPORTS_TOKEN: reportsToken,
            BANDPOOL_EXTRA_CA_FILE: `${reportsDir}/ca.pem`,
            E2E_REPORTS_DIR: reportsDir,
          },
          reuseExistingServer: false,
          timeout: 120_000,
          stdout: 'ignore',
          stderr: 'pipe',
        },
      ],
});
