import { readFileSync } from 'node:fs';
import { test, expect, hydrated } from './fixtures';
import { reportsApi } from '../playwright.config';
import type { Browser, Page } from '@playwright/test';

// The metered tenant of the e2e deployment ("Metered E2E", scripts/e2e-server): its own
// Owner, connector agent and four metered LoadMasters ("e2e-mela-…") reporting usage every two
// seconds. Its Owner accepts the invitation the deployment wrote out, once for this file.

const port = Number(process.env.E2E_PORT ?? 3100);
const invitationFile = `${process.env.TMPDIR ?? '/tmp'}/bandpool-e2e-${port}/metered-invitation`;
const statePath = '.auth/metered-owner.json';

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  const link = readFileSync(invitationFile, 'utf8').trim();
  expect(link).toContain('/invitation?token=');
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  await page.goto(link);
  await page.getByLabel('Choose a password').fill('metered owner password');
  await page.getByLabel('The same again').fill('metered owner password');
  await page.getByRole('button', { name: 'Accept and sign in' }).click();
  await expect(page.locator('[data-viewer]')).toContainText('metered-owner@e2e.test');
  await context.storageState({ path: statePath });
  await context.close();
});

async function meteredOwner(browser: Browser, javaScriptEnabled: boolean): Promise<Page> {
  const context = await browser.newContext({ storageState: statePath, javaScriptEnabled });
  return context.newPage();
}

/** Wait until all four metered LoadMasters' usage has reached the portal. */
async function reporting(page: Page) {
  await expect
    .poll(
      async () => {
        await page.goto('/metered/usage');
        return page.locator('tr[data-loadmaster]').count();
      },
      { timeout: 30_000, intervals: [1_000] },
    )
    .toBe(4);
}

test('the Metered usage page shows the month so far, its tier, the LoadMasters and a drill-down', async ({ browser }) => {
  const page = await meteredOwner(browser, true);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await reporting(page);
  await hydrated(page);
  await expect(page.locator('[data-figure="usage"]')).toContainText(/Usage so far: [1-9]/);
  await expect(page.locator('[data-figure="tier"]')).toContainText(/Tier: Tier [123]/);
  await expect(page.locator('[data-figure="loadmasters"]')).toHaveText('Metered LoadMasters reporting: 4');
  // The months chart is the server's SVG, with this month's bar.
  const chart = page.locator('[data-section="metered-months"] svg');
  await expect(chart).toBeVisible();

  // Sorted by peak throughput, highest first; a search narrows it to one.
  const table = page.locator('[data-section="metered-loadmasters"]');
  await table.getByRole('link', { name: /Peak throughput/ }).click();
  await expect(page).toHaveURL(/sort=peak/);
  await expect(page.locator('tr[data-loadmaster]')).toHaveCount(4);
  // Highest peak first.
  const peaks = (await page.locator('tr[data-loadmaster] td:nth-child(4)').allTextContents()).map((t) =>
    Number(t.replace(/[^0-9.]/g, '')),
  );
  expect(peaks).toEqual([...peaks].sort((a, b) => b - a));
  await table.getByRole('searchbox').fill('e2e-mela-0002');
  await table.getByRole('searchbox').press('Enter');
  await expect(page.locator('tr[data-loadmaster]')).toHaveCount(1);
  await expect(page.locator('tr[data-loadmaster]')).toContainText('e2e-mela-0002');

  // Its daily peaks: today, with the samples counted.
  await page.locator('tr[data-loadmaster]').getByRole('link', { name: 'Daily peaks' }).click();
  const daily = page.locator('[data-section="metered-daily"]');
  await expect(daily).toBeVisible();
  const today = new Date().toISOString().slice(0, 10);
  await expect(daily.locator(`tr[data-day="${today}"]`)).toBeVisible();
  await daily.getByRole('link', { name: '← Back to all LoadMasters' }).click();
  await expect(page.locator('[data-section="metered-daily"]')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('the Activations table lists the metered LoadMasters, filters them and exports them', async ({ browser }) => {
  const page = await meteredOwner(browser, true);
  await reporting(page);
  await page.goto('/metered/activations');
  await hydrated(page);
  await expect(page.locator('[data-figure="max"]')).toHaveText('Max Activations Available: 20');
  await expect(page.locator('[data-figure="current"]')).toHaveText('Current Number of Activations: 4');
  const rows = page.locator('tr[data-activation]');
  await expect(rows).toHaveCount(4);
  // What each LoadMaster said about itself when it activated.
  const first = rows.first();
  await expect(first.locator('td').nth(0)).toHaveText(/^00:50:56:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
  await expect(first.locator('td').nth(1)).toHaveText('7.2.59.0.22007.RELEASE');
  await expect(first.locator('td').nth(2)).toHaveText('ACTIVE');

  // Blocked only: none (all four were confirmed by their first samples).
  const filters = page.locator('form.filters');
  for (const box of await filters.getByRole('checkbox').all()) await box.uncheck();
  await filters.getByLabel('Blocked').check();
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/status=blocked/);
  await expect(rows).toHaveCount(0);
  await expect(page.getByText('No metered activations match the filter.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Unblock Selected' })).toHaveCount(0);

  // The CSV holds the same four.
  const csv = await (await page.request.get('/api/v1/metered/activations.csv')).text();
  const lines = csv.trim().split(/\r?\n/);
  expect(lines[0]).toContain('MAC Address');
  expect(lines).toHaveLength(5);

  // The setting: a choice is kept.
  await page.goto('/metered/activations');
  await hydrated(page);
  const setting = page.locator('[data-section="block-setting"]');
  await setting.getByLabel('Block unconfirmed activations after').selectOption({ label: '1 day' });
  await setting.getByRole('button', { name: 'Apply' }).click();
  // The form's post and its way back end before the page is asked for again.
  await expect(page.getByText('Unconfirmed activations are now blocked after 1 day.')).toBeVisible();
  await page.reload();
  await expect(page.locator('[data-section="block-setting"] select option:checked')).toHaveText('1 day');
});

test('both metered pages are complete without JavaScript', async ({ browser }) => {
  const page = await meteredOwner(browser, false);
  await page.goto('/metered/usage');
  await expect(page.locator('[data-figure="usage"]')).toContainText('Usage so far:');
  await expect(page.locator('tr[data-loadmaster]')).toHaveCount(4);
  await page.locator('tr[data-loadmaster]').first().getByRole('link', { name: 'Daily peaks' }).click();
  await expect(page.locator('[data-section="metered-daily"] tr[data-day]').first()).toBeVisible();
  await page.goto('/metered/activations?status=active');
  await expect(page.locator('tr[data-activation][data-status="active"]')).toHaveCount(4);
});

test('the MELA report shows the range and downloads the summary zip, every sample and the PDF', async ({ browser }) => {
  const page = await meteredOwner(browser, true);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await reporting(page);
  await page.goto('/metered/report');
  await hydrated(page);
  // The month up to today, by default.
  const today = new Date().toISOString().slice(0, 10);
  await expect(page.locator('input[name="to"]')).toHaveValue(today);
  await expect(page.locator('[data-figure="max-instances"]')).toHaveText('Maximum active instances: 4');
  await expect(page.locator('[data-section="report-instances"] svg')).toBeVisible();
  await expect(page.locator('[data-section="report-top-ssl"] .top-loadmaster')).toHaveCount(4);
  await expect(page.locator('[data-section="report-top-throughput"] .top-loadmaster svg')).toHaveCount(4);
  await expect(page.locator('[data-section="report-aggregate"] svg')).toBeVisible();
  const activations = page.locator('[data-section="report-events"] tr[data-kind="activation"]');
  await expect(activations).toHaveCount(4);
  await expect(activations.first()).toContainText('Activation - License: ');
  await expect(activations.first()).toContainText('LM SKU: VLM-SPLA');

  // Download with "Download summary" checked: the zip; unchecked: every sample as CSV.
  const form = page.locator('[data-section="report-range"] form');
  await expect(form.getByLabel('Download summary')).toBeChecked();
  let download = page.waitForEvent('download');
  await form.getByRole('button', { name: 'Download', exact: true }).click();
  const zip = await download;
  expect(zip.suggestedFilename()).toMatch(/^MELA_report_\d{8}_\d{8}\.zip$/);
  expect(readFileSync(await zip.path()).subarray(0, 2).toString()).toBe('PK');
  await form.getByLabel('Download summary').uncheck();
  download = page.waitForEvent('download');
  await form.getByRole('button', { name: 'Download', exact: true }).click();
  const csv = readFileSync(await (await download).path(), 'utf8').trim().split(/\r?\n/);
  expect(csv[0]).toBe('Sampled At (UTC),ID,Bytes In per Second,Bytes Out per Second,SSL TPS');
  expect(csv.length).toBeGreaterThan(4);
  download = page.waitForEvent('download');
  await form.getByRole('button', { name: 'Download PDF' }).click();
  const pdf = await download;
  expect(pdf.suggestedFilename()).toMatch(/\.pdf$/);
  expect(readFileSync(await pdf.path()).subarray(0, 5).toString()).toBe('%PDF-');

  // Automatic Reporting's settings are kept (uploading itself is the next test).
  const reportingCard = page.locator('[data-section="automatic-reporting"]');
  await expect(reportingCard).toContainText("Reports go to the vendor's reporting service over HTTPS");
  await reportingCard.getByLabel('Send monthly usage report via email').check();
  await reportingCard.getByLabel('Send bcc to').fill('billing@e2e.test');
  await reportingCard.getByRole('button', { name: 'Apply' }).click();
  await expect(page.getByText('Automatic reporting settings applied.')).toBeVisible();
  await page.reload();
  await expect(page.locator('[data-section="automatic-reporting"]').getByLabel('Send monthly usage report via email')).toBeChecked();
  await expect(page.locator('[data-section="automatic-reporting"]').getByLabel('Send bcc to')).toHaveValue('billing@e2e.test');
  expect(errors).toEqual([]);
});

test('Upload now sends the signed report to the vendor, and a failed upload is shown and retried', async ({ browser }) => {
  const page = await meteredOwner(browser, true);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await reporting(page);
  await page.goto('/metered/report');
  const card = () => page.locator('[data-section="automatic-reporting"]');

  await card().getByRole('button', { name: 'Upload now' }).click();
  const uploaded = page.getByText(/The usage report for (\d{4}-\d{2}) was uploaded to the vendor\./);
  await expect(uploaded).toBeVisible();
  const period = /for (\d{4}-\d{2}) was/.exec((await uploaded.textContent()) ?? '')![1];
  await expect(card().locator('[data-figure="last-upload"]')).toHaveText(/^Last upload \d{4}-[A-Z][a-z]+-\d{2} - SUCCESS$/);
  // The receiver checked the bearer token and the Ed25519 signature against the key the
  // deployment registered, and holds the report once under its tenant and period.
  const arrivedFor = async () => {
    const { received } = await (await fetch(`${reportsApi}/received`)).json();
    return received.filter((r: { period: string; idempotencyKey: string }) => r.period === period && r.idempotencyKey.endsWith(`:${period}`));
  };
  const first = await arrivedFor();
  expect(first).toHaveLength(1);
  expect(first[0].dailyPeaks).toBeGreaterThan(0);

  // The vendor is down for the next upload: the page says why, and Retry upload sends it.
  expect((await fetch(`${reportsApi}/fail-next?count=1`, { method: 'POST' })).ok).toBe(true);
  await card().getByRole('button', { name: 'Upload now' }).click();
  await expect(page.getByText(`The usage report for ${period} could not be uploaded`)).toBeVisible();
  await expect(card().locator('[data-figure="upload-failure"]')).toContainText('the reporting service answered 503');
  await expect(card().locator('[data-figure="upload-failure"]')).toContainText('down for maintenance');
  await card().getByRole('button', { name: 'Retry upload' }).click();
  await expect(page.getByText('1 of 1 waiting uploads went through.')).toBeVisible();
  await expect(card().locator('[data-figure="upload-failure"]')).toHaveCount(0);
  await expect(card().getByRole('button', { name: 'Retry upload' })).toHaveCount(0);
  // Delivered twice (the refused try between), held once: both carried the same key, the
  // tenant and period, so the vendor bills the period once.
  const after = await arrivedFor();
  expect(after).toHaveLength(1);
  expect(after[0].times).toBe(2);
  expect(after[0].receivedAt >= first[0].receivedAt).toBe(true);
  expect(errors).toEqual([]);
});

test('the MELA report is complete without JavaScript, and a bad range is a clear refusal', async ({ browser }) => {
  const page = await meteredOwner(browser, false);
  await reporting(page);
  await page.goto('/metered/report');
  await expect(page.locator('[data-figure="max-instances"]')).toHaveText('Maximum active instances: 4');
  await expect(page.locator('[data-section="report-instances"] svg')).toBeVisible();
  await expect(page.locator('[data-section="report-events"] tr[data-kind="activation"]')).toHaveCount(4);
  // A range that ends before it starts: the page says why, nothing breaks.
  await page.goto('/metered/report?from=2026-12-31&to=2026-01-01');
  await expect(page.getByText(/on or before the end date/)).toBeVisible();
});
