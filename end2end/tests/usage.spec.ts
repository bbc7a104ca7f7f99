import { test, expect, hydrated } from './fixtures';
import { readFile } from 'node:fs/promises';

// Usage and billing (004) on the demo tenant: its entitlement (Pooled plan, 25 base assets
// plus an Active 10-pack and a Trial 5-pack), its 26 applications of 1 to 15 Virtual
// Services, and the pool's capacity and LoadMaster limit.

// These tests read and change the same applications: one after another.
test.describe.configure({ mode: 'serial' });

const COLORS: Record<string, string> = {
  green: 'rgb(22, 163, 74)',
  amber: 'rgb(245, 158, 11)',
  red: 'rgb(220, 38, 38)',
};

function levelOf(percent: number): string {
  return percent <= 50 ? 'green' : percent <= 80 ? 'amber' : 'red';
}

test('the page shows the subscription, add-ons and the three bars in their colours', async ({ page }) => {
  await page.goto('/usage-and-billing');
  await hydrated(page);
  const subscription = page.locator('[data-section="subscription"]');
  await expect(subscription.locator('[data-field="plan"]')).toHaveText('LoadMaster 360 Pooled');
  await expect(subscription.locator('[data-field="order"]')).toHaveText('ORD-2026-0042');
  await expect(subscription.getByRole('link', { name: 'About the consumption models' })).toBeVisible();
  const addOns = page.locator('[data-section="add-ons"] table tbody tr');
  await expect(addOns).toHaveCount(2);
  await expect(addOns.first()).toContainText('Additional assets (10-pack)');

  for (const name of ['capacity', 'loadmasters', 'assets']) {
    const bar = page.locator(`[data-bar="${name}"]`);
    await expect(bar).toBeVisible();
    const percent = Number(await bar.getAttribute('data-percent'));
    const level = levelOf(percent);
    await expect(bar).toHaveAttribute('data-level', level);
    // The colour is the level's, and the reading is there in words for screen readers.
    await expect(bar.locator('.usage-fill')).toHaveCSS('background-color', COLORS[level]);
    await expect(bar.getByRole('meter')).toHaveAttribute('aria-label', new RegExp(`${percent}%`));
    await expect(bar.locator('.usage-percent')).toHaveText(`${percent}%`);
  }
  await expect(page.locator('[data-bar="capacity"] .usage-figure')).toHaveText(/^[\d.,]+ of [\d.,]+ Gb$/);
  await expect(page.locator('[data-bar="loadmasters"] .usage-figure')).toHaveText(/^\d+ of \d+ LoadMasters licensed$/);
  await expect(page.locator('[data-bar="assets"] .usage-figure')).toHaveText(/^\d+ of 35 assets$/);
  await expect(page.locator('[data-count="applications"]')).toHaveText(/^Mapped applications: \d+$/);
  await expect(page.locator('[data-count="loadmasters"]')).toHaveText(/^LoadMasters in the inventory: \d+$/);

  // Every application row's colour follows its percentage of 15 Virtual Services.
  const rows = page.locator('table.applications tbody tr');
  await expect(rows).toHaveCount(10);
  for (const row of await rows.all()) {
    const quota = (await row.locator('td.num').textContent())!;
    const used = Number(quota.split(' ')[0]);
    const percent = Math.floor((used * 200 + 15) / 30);
    await expect(row).toHaveAttribute('data-level', levelOf(percent));
    await expect(row.locator('.usage-percent')).toHaveText(`${percent}%`);
    await expect(row.locator('.usage-fill')).toHaveCSS('background-color', COLORS[levelOf(percent)]);
  }
  // The demo has applications of each level.
  for (const level of ['green', 'amber', 'red']) {
    await expect(page.locator(`table.applications tbody tr[data-level="${level}"]`).first()).toBeVisible();
  }
});

test('the application table pages 10, 20 or 50 at a time with Previous and Next', async ({ page }) => {
  await page.goto('/usage-and-billing');
  await hydrated(page);
  const rows = page.locator('table.applications tbody tr');
  const range = page.locator('[data-range]');
  await expect(rows).toHaveCount(10);
  const total = Number((await range.textContent())!.split(' of ')[1]);
  expect(total).toBeGreaterThan(20);
  await expect(range).toHaveText(`1–10 of ${total}`);
  const first = await rows.first().getAttribute('data-application');
  await expect(page.locator('.pager span.button', { hasText: 'Previous' })).toHaveAttribute('aria-disabled', 'true');

  await page.getByRole('link', { name: 'Next' }).click();
  await expect(page).toHaveURL(/page=2&per_page=10/);
  await expect(range).toHaveText(`11–20 of ${total}`);
  await expect(rows.first()).not.toHaveAttribute('data-application', first!);
  await page.getByRole('link', { name: 'Previous' }).click();
  await expect(range).toHaveText(`1–10 of ${total}`);
  await expect(rows.first()).toHaveAttribute('data-application', first!);

  await page.getByLabel('Items per page').selectOption('20');
  await expect(page).toHaveURL(/per_page=20/);
  await expect(rows).toHaveCount(20);
  await expect(page.locator('[data-page]')).toHaveText(`Page 1 of ${Math.ceil(total / 20)}`);
  await page.getByLabel('Items per page').selectOption('50');
  await expect(rows).toHaveCount(Math.min(total, 50));
  await expect(page.locator('.pager span.button', { hasText: 'Next' })).toHaveAttribute('aria-disabled', 'true');
});

test('Sync entitlements shows its progress and moves Last refreshed', async ({ page }) => {
  await page.goto('/usage-and-billing');
  await hydrated(page);
  const refreshed = page.locator('time[data-last-refreshed]');
  const before = Number((await refreshed.getAttribute('data-last-refreshed')) || '0');
  await page.getByRole('button', { name: 'Sync entitlements' }).click();
  await expect(page.locator('[data-entitlement-sync="done"]')).toContainText('Entitlements synced');
  await expect
    .poll(async () => Number((await refreshed.getAttribute('data-last-refreshed')) || '0'))
    .toBeGreaterThanOrEqual(Math.max(before, 1));
  await expect(refreshed).not.toHaveText('never');
});

test('Export to CSV downloads 004\'s fields, the add-ons and the assets', async ({ page }) => {
  await page.goto('/usage-and-billing');
  await hydrated(page);
  const apps = Number((await page.locator('[data-count="applications"]').textContent())!.replace(/\D/g, ''));
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export to CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^Usage_and_billing_\d{8}\.csv$/);
  const text = await readFile((await download.path())!, 'utf8');
  const lines = text.trim().split('\n');
  expect(lines[0]).toBe(
    'Name,Progress ID,Order ID,Plan,Base Assets,Total Assets,Used Assets,Remaining Assets,Virtual Service Limit,Status,Activation Date,Bill Date',
  );
  const values = lines[1].split(',');
  expect(values.slice(0, 6)).toEqual(['Dana Whitfield', 'PRG-104233', 'ORD-2026-0042', 'LoadMaster 360 Pooled', '25', '35']);
  expect(Number(values[6])).toBe(apps);
  expect(Number(values[7])).toBe(Math.max(0, 35 - apps));
  expect(values.slice(8, 10)).toEqual(['15', 'Active']);
  expect(lines).toContain('Add Ons');
  expect(lines).toContain('Description,Quantity,Status,Activation Date,Bill Date');
  // A description with a comma is quoted, so a spreadsheet keeps it in one cell.
  expect(lines.some((l) => l.startsWith('"Additional assets (5-pack, trial)",5,Trial,'))).toBe(true);
  const assets = lines.indexOf('Application,Used Virtual Services,Remaining Virtual Services');
  expect(assets).toBeGreaterThan(0);
  const assetRows = lines.slice(assets + 1);
  expect(assetRows.length).toBe(apps);
  for (const row of assetRows) {
    const parts = row.split(',');
    const used = Number(parts.at(-2));
    const remaining = Number(parts.at(-1));
    expect(used).toBeGreaterThanOrEqual(0);
    expect(used + remaining, row).toBe(15);
  }
});

test('Applications: quick mapping makes one application per unmapped Virtual Service', async ({ page }) => {
  await page.goto('/applications');
  await hydrated(page);
  // The table shows a page of them; its heading counts them all.
  const heading = page.getByRole('heading', { name: /^Unmapped Virtual Services \(/ });
  const unmapped = Number((await heading.textContent())!.replace(/\D/g, ''));
  expect(unmapped).toBeGreaterThan(0);
  const before = Number((await page.getByRole('heading', { name: /^Applications \(/ }).textContent())!.replace(/\D/g, ''));
  await page.getByRole('button', { name: /Quick map/ }).click();
  await expect(page.locator('.notice')).toContainText(`${unmapped} application(s) created`);
  await expect(page.getByRole('heading', { name: /^Applications \(/ })).toHaveText(`Applications (${before + unmapped})`);
  await expect(page.locator('tr[data-virtual-service]')).toHaveCount(0);
  // Usage and billing counts them as used assets.
  await page.goto('/usage-and-billing');
  await expect(page.locator('[data-count="applications"]')).toHaveText(`Mapped applications: ${before + unmapped}`);
});
