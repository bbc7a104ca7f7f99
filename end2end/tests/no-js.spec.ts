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
