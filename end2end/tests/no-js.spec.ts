import { test, expect } from './fixtures';

// The same page with JavaScript disabled: everything is server-rendered, and the links and
// forms work as plain HTML.
test('the License Repository renders completely without JavaScript', async ({ page }) => {
  await page.goto('/license-repository');
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('.cylinder svg')).toBeVisible();
  await expect(page.locator('.bars svg')).toBeVisible();
  await expect(page.locator('table.licenses tbody tr')).toHaveCount(10);
  await expect(page.locator('.status-filters a[data-status="active"] .count')).not.toHaveText('0');
  // 300 seeded licenses plus those the e2e deployment's simulated LoadMasters took.
  await expect(page.locator('.page-status')).toHaveText(/^Page 1 of 3\d · 3\d\d licenses$/);
});

test('drill-down, search, sort and paging work as plain links and forms', async ({ page }) => {
  await page.goto('/license-repository');
  await page.locator('.bar-hit[data-month]').last().click();
  await expect(page.getByRole('heading', { name: /each day of/ })).toBeVisible();
  await page.getByRole('link', { name: /Back to all months/ }).click();
  await expect(page.locator('.bar-hit[data-month]')).toHaveCount(12);

  await page.getByRole('searchbox', { name: 'Search licenses' }).fill('lm-nyc');
  await page.getByRole('searchbox', { name: 'Search licenses' }).press('Enter');
  await expect(page).toHaveURL(/q=lm-nyc/);
  await expect(page.locator('table.licenses tbody tr').first()).toContainText('lm-nyc');

  await page.locator('table.licenses thead th').filter({ hasText: 'Bandwidth' }).getByRole('link').click();
  await expect(page).toHaveURL(/sort=bandwidth/);
  await page.getByRole('link', { name: 'Next ›' }).click();
  await expect(page.locator('.page-status')).toContainText('Page 2 of');
});

test.describe('without JavaScript, signing in', () => {
  test.use({ storageState: { cookies: [], origins: [] } });

  test('works as a plain form', async ({ page }) => {
    const { demoPassword } = await import('../playwright.config');
    await page.goto('/license-repository');
    await expect(page).toHaveURL(/\/sign-in\?next=/);
    await page.getByLabel('Email').fill('demo@bandpool.local');
    await page.getByLabel('Password').fill(demoPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page).toHaveURL(/\/license-repository$/);
    await expect(page.locator('table.licenses tbody tr')).toHaveCount(10);
  });
});

test('Usage and billing renders its bars and pages its applications without JavaScript', async ({ page }) => {
  await page.goto('/usage-and-billing');
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  for (const name of ['capacity', 'loadmasters', 'assets']) {
    await expect(page.locator(`[data-bar="${name}"] .usage-fill`)).toBeVisible();
    await expect(page.locator(`[data-bar="${name}"]`)).toHaveAttribute('data-level', /^(green|amber|red)$/);
  }
  await expect(page.locator('table.applications tbody tr')).toHaveCount(10);
  await page.getByRole('link', { name: 'Next' }).click();
  await expect(page.locator('[data-page]')).toHaveText(/^Page 2 of \d+$/);
  // The items-per-page choice is a plain form.
  await page.getByLabel('Items per page').selectOption('20');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/per_page=20/);
  await expect(page.locator('[data-page]')).toHaveText(/^Page 1 of \d+$/);
  // Sync entitlements is a plain form too: Last refreshed moves after the round trip.
  await page.goto('/usage-and-billing');
  const refreshed = page.locator('time[data-last-refreshed]');
  const before = Number((await refreshed.getAttribute('data-last-refreshed')) || '0');
  await page.waitForTimeout(1100);
  await page.getByRole('button', { name: 'Sync entitlements' }).click();
  await expect(page).toHaveURL(/\/usage-and-billing/);
  await expect
    .poll(async () => Number((await page.locator('time[data-last-refreshed]').getAttribute('data-last-refreshed')) || '0'))
    .toBeGreaterThan(before);
});

test('every page renders without JavaScript', async ({ page }) => {
  for (const [path, heading] of [
    ['/license-repository', 'License Repository'],
    ['/usage-and-billing', 'Usage and billing'],
    ['/applications', 'Applications'],
    ['/connectors', 'Connectors'],
    ['/licenses', 'Licenses'],
    ['/offline-licensing', 'Offline Licensing'],
    ['/notifications', 'Notifications'],
    ['/event-log', 'Event log'],
    ['/users', 'Users'],
    ['/api-tokens', 'API tokens'],
    ['/tenants', 'Tenants'],
  ]) {
    const response = await page.goto(path);
    expect(response!.status(), path).toBe(200);
    await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
    await expect(page.locator('.error-note')).toHaveCount(0);
  }
});

test('without JavaScript the Columns menu applies with its button', async ({ page }) => {
  await page.goto('/license-repository');
  await page.getByText('Columns', { exact: true }).click();
  await page.getByRole('checkbox', { name: 'IP Address' }).uncheck();
  await page.getByRole('button', { name: 'Show these columns' }).click();
  await expect(page.locator('table.licenses thead th').filter({ hasText: 'IP Address' })).toBeHidden();
  await page.getByText('Columns', { exact: true }).click();
  await page.getByRole('checkbox', { name: 'IP Address' }).check();
  await page.getByRole('button', { name: 'Show these columns' }).click();
  await expect(page.locator('table.licenses thead th').filter({ hasText: 'IP Address' })).toBeVisible();
});

test('without JavaScript Kill License is a form with the typed word', async ({ page }) => {
  // A license of the demo pool issued through the portal and still active.
  const list = await (await page.request.get('/api/v1/licenses?status=active&per_page=500')).json();
  const license = list.licenses.find((l: { issued_through_portal: boolean; device_name: string | null }) => l.issued_through_portal && l.device_name && !l.device_name.startsWith('e2e-'));
  expect(license, 'an active license issued through the portal').toBeTruthy();
  await page.goto(`/license-repository?q=${license.serial_no}`);
  // Without a row chosen the dialog says to choose one.
  await page.getByRole('button', { name: 'Kill License' }).click();
  await expect(page.getByRole('dialog', { name: 'Kill License' })).toContainText('Choose a license in the table first');
  await page.getByRole('dialog').getByRole('link', { name: 'Close' }).click();
  await page.locator('table.licenses tbody tr').first().getByRole('radio').check();
  await page.getByRole('button', { name: 'Kill License' }).click();
  const dialog = page.getByRole('dialog', { name: 'Kill License' });
  await expect(dialog).toContainText(`serial ${license.serial_no}`);
  // A wrong word comes back with the reason in words, and nothing is killed.
  await dialog.getByLabel('Type KILL to confirm').fill('kill');
  await dialog.getByRole('button', { name: 'Kill License' }).click();
  await expect(page.getByRole('alert')).toHaveText('Type KILL to confirm that the license should be killed.');
  await expect(page.locator('table.licenses tbody tr').first().locator('td.col-status')).toHaveText('Active');
  await page.getByRole('dialog').getByLabel('Type KILL to confirm').fill('KILL');
  await page.getByRole('dialog').getByRole('button', { name: 'Kill License' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The license is killed' })).toBeVisible();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.locator('table.licenses tbody tr').first().locator('td.col-status')).toHaveText('Killed');
});

test('without JavaScript Sync licenses posts and follows its progress', async ({ page }) => {
  await page.goto('/license-repository');
  await page.getByRole('button', { name: 'Sync licenses' }).click();
  await expect(page).toHaveURL(/\?sync=/);
  // The progress page refreshes itself until the run is finished.
  await expect(page.locator('[data-sync="finished"]')).toContainText('Synced', { timeout: 20_000 });
});
