import { test, expect, LicenseRepository } from './fixtures';

// The island waits this long after the last key before it asks (SEARCH_PAUSE_MS in app/src/components/islands.rs).
const SEARCH_PAUSE_MS = 300;

test('hovering a cylinder section names the license type and its active licenses', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  await expect(page.getByText('Current allocation', { exact: true })).toBeVisible();
  // The details come from the markup and CSS alone: no title attribute, whose browser
  // tooltip would show as a second one.
  await expect(page.locator('.cylinder-section')).not.toHaveCount(0);
  await expect(page.locator('.chart .hit[title]')).toHaveCount(0);
  await expect(repo.tooltip.filter({ visible: true })).toHaveCount(0);

  const section = page.locator('.cylinder-section').first();
  const type = await section.getAttribute('data-license-type');
  // Its own tooltip, inside it.
  const tooltip = section.locator('.chart-tooltip');
  await expect(tooltip).toBeHidden();
  await section.hover();
  await expect(tooltip).toBeVisible();
  await expect(tooltip).toContainText(`${type}:`);
  await expect(tooltip).toContainText('active license');
  await expect(tooltip).toHaveAttribute('role', 'tooltip');
  // Only the hovered section's tooltip shows.
  await expect(repo.tooltip.filter({ visible: true })).toHaveCount(1);
  await page.mouse.move(0, 0);
  await expect(tooltip).toBeHidden();
});

test('a month drills down into its days and back', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  const months = page.locator('.bar-hit[data-month]');
  await expect(months).toHaveCount(12);
  await expect(page.locator('.bar-hit[data-level="over"]')).toHaveCount(1);
  expect(await page.locator('.bar-hit[data-level="warning"]').count()).toBeGreaterThan(0);
  await expect(page.locator('.chart .hit[title]')).toHaveCount(0);

  // A keyboard user who reaches a month (a link) sees its tooltip too.
  await page.mouse.move(0, 0);
  const first = months.first();
  const firstTip = first.locator('.chart-tooltip');
  await expect(firstTip).toBeHidden();
  await first.focus();
  await expect(firstTip).toBeVisible();
  await expect(firstTip).toContainText(':');
  await first.blur();
  await expect(firstTip).toBeHidden();

  const over = page.locator('.bar-hit[data-level="over"]');
  const month = (await over.getAttribute('data-month'))!;
  const overTip = over.locator('.chart-tooltip');
  await over.hover();
  await expect(overTip).toBeVisible();
  await expect(overTip).toContainText('highest usage on');
  await over.click();
  await expect(page).toHaveURL(new RegExp(`month=${month}`));
  await expect(page.getByRole('heading', { name: /each day of/ })).toBeVisible();
  const days = page.locator('.bar-hit[data-day]');
  expect(await days.count()).toBeGreaterThanOrEqual(28);
  await expect(page.locator('.chart .hit[title]')).toHaveCount(0);
  const day = days.nth(10);
  const dayTip = day.locator('.chart-tooltip');
  await day.hover();
  await expect(dayTip).toBeVisible();
  await expect(dayTip).toContainText(`${month}-11: `);
  await expect(dayTip).toContainText('Mb/s');
  // Day bars take the keyboard's focus as well.
  await expect(day).toHaveAttribute('tabindex', '0');

  await page.getByRole('link', { name: /Back to all months/ }).click();
  await expect(months).toHaveCount(12);
  expect(page.url()).not.toContain('month=');
});

test('search filters as you type and Reset returns to the default view', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  await expect(repo.rows).toHaveCount(10);
  // Typing asks once the typing pauses, not on every key; the page stays (focus too).
  const asked: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/license-repository?')) asked.push(r.url());
  });
  // The page notes when each key lands, so a machine that stalls typing past the pause (as CI
  // under load does) is allowed the extra request it causes, and no more.
  await page.evaluate(() => {
    const w = window as unknown as { keysAt: number[] };
    w.keysAt = [];
    document.addEventListener('input', () => w.keysAt.push(performance.now()), true);
  });
  await repo.search.pressSequentially('lm-ams', { delay: 30 });
  await expect(page).toHaveURL(/q=lm-ams/);
  const keysAt = await page.evaluate(() => (window as unknown as { keysAt: number[] }).keysAt);
  expect(keysAt).toHaveLength(6);
  const stalls = keysAt.slice(1).filter((at, i) => at - keysAt[i] >= SEARCH_PAUSE_MS).length;
  // Asking on every key would make six requests; waiting for the pause makes one per stall, plus one.
  expect(asked.length, `${asked.join('\n')}\nkeys at ${keysAt.join(', ')}`).toBeLessThanOrEqual(stalls + 1);
  expect(asked.at(-1), asked.join('\n')).toContain('q=lm-ams');
  await expect(repo.search).toBeFocused();
  await expect(page.locator('.status-filters a[data-status="all"] .count')).toHaveText(String(await repo.total()));
  await expect(repo.rows.first()).toContainText('lm-ams');
  for (const name of await repo.rows.locator('td.col-device_name').allTextContents()) {
    expect(name).toContain('lm-ams');
  }
  await repo.search.fill('no-such-device');
  await expect(page.getByText('No licenses match “no-such-device”.')).toBeVisible();
  await page.locator('.search').getByRole('link', { name: 'Reset' }).click();
  await expect(page).toHaveURL(/\/license-repository$/);
  await expect(repo.search).toHaveValue('');
  await expect(repo.rows).toHaveCount(10);
});

test('a bad URL parameter shows a clear error, and Reset recovers', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open('?page=zero');
  await expect(page.getByRole('alert')).toContainText("Invalid parameter 'page'");
  // The stable code is for scripts (data-code), not for the person reading.
  await expect(page.getByRole('alert')).toHaveAttribute('data-code', 'invalid_parameter');
  await expect(page.getByRole('alert')).not.toContainText('invalid_parameter');
  await page.getByRole('link', { name: 'Reset to the default view' }).click();
  await expect(repo.rows).toHaveCount(10);
  await expect(repo.search).toHaveValue('');
});

test('a hidden column stays hidden after a reload', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  await expect(repo.header('SSL TPS')).toBeVisible();
  await page.getByText('Columns', { exact: true }).click();
  await page.getByRole('checkbox', { name: 'SSL TPS' }).uncheck();
  await expect(repo.header('SSL TPS')).toBeHidden();
  await expect(page.locator('td.col-ssl_tps').first()).toBeHidden();
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(repo.header('SSL TPS')).toBeHidden();
  await expect(repo.header('Bandwidth')).toBeVisible();
  await page.getByText('Columns', { exact: true }).click();
  await expect(page.getByRole('checkbox', { name: 'SSL TPS' })).not.toBeChecked();
  // The menu closes on Escape (focus back on its button) and on a click elsewhere.
  await page.keyboard.press('Escape');
  await expect(page.getByRole('checkbox', { name: 'SSL TPS' })).toBeHidden();
  await expect(page.locator('.columns-menu summary')).toBeFocused();
  await page.getByText('Columns', { exact: true }).click();
  await expect(page.getByRole('checkbox', { name: 'SSL TPS' })).toBeVisible();
  await page.getByRole('heading', { name: 'License overview' }).click();
  await expect(page.getByRole('checkbox', { name: 'SSL TPS' })).toBeHidden();
  // Back to every column for the other tests of this browser.
  await page.getByText('Columns', { exact: true }).click();
  await page.getByRole('checkbox', { name: 'SSL TPS' }).check();
  await expect(repo.header('SSL TPS')).toBeVisible();
});

test('page size and page controls', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  // 300 seeded licenses plus those the e2e deployment's simulated LoadMasters took.
  const total = await repo.total();
  expect(total).toBeGreaterThanOrEqual(300);
  await expect(repo.pageStatus).toContainText(`Page 1 of ${Math.ceil(total / 10)}`);
  await page.getByRole('combobox', { name: 'Licenses per page' }).selectOption('25');
  await expect(page).toHaveURL(/per_page=25/);
  await expect(repo.rows).toHaveCount(25);
  const pages = Math.ceil(total / 25);
  await expect(repo.pageStatus).toContainText(`Page 1 of ${pages}`);
  await page.getByRole('link', { name: 'Next ›' }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(repo.pageStatus).toContainText(`Page 2 of ${pages}`);
  await page.getByRole('link', { name: 'Last »' }).click();
  await expect(repo.pageStatus).toContainText(`Page ${pages} of ${pages}`);
  await expect(repo.rows).toHaveCount(total - (pages - 1) * 25);
});

test('a header click sorts by that column, a second click reverses it', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  await repo.header('Bandwidth').getByRole('link').click();
  await expect(page).toHaveURL(/sort=bandwidth/);
  // The URL changes before the sorted page arrives, and the default page's first row may
  // already read 200 Mb/s: wait for the header that says the table is sorted, or the second
  // click would land on the old header's link (sort ascending again).
  await expect(repo.header('Bandwidth')).toHaveAttribute('aria-sort', 'ascending');
  await expect(repo.rows.first().locator('td.col-bandwidth')).toHaveText('200 Mb/s');
  await repo.header('Bandwidth').getByRole('link').click();
  await expect(page).toHaveURL(/order=desc/);
  await expect(repo.header('Bandwidth')).toHaveAttribute('aria-sort', 'descending');
  await expect(repo.rows.first().locator('td.col-bandwidth')).toHaveText('10,000 Mb/s');
});

test('status filters show only their licenses; only Active licenses have the history arrow', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  for (const [status, label] of [
    ['killed', 'Killed'],
    ['expired', 'Expired'],
    ['grace_period', 'Grace Period'],
  ]) {
    await page.locator(`.status-filters a[data-status="${status}"]`).click();
    await expect(page).toHaveURL(new RegExp(`status=${status}`));
    await expect(repo.rows.first()).toHaveAttribute('data-status', status);
    for (const shown of await repo.rows.locator('td.col-status').allTextContents()) {
      expect(shown).toBe(label);
    }
    await expect(repo.rows.locator('.history-arrow')).toHaveCount(0);
  }
  await page.locator('.status-filters a[data-status="active"]').click();
  await expect(repo.rows.first()).toHaveAttribute('data-status', 'active');
  await expect(repo.rows.locator('.history-arrow')).toHaveCount(await repo.rows.count());
});

test('the arrow opens a license history, or says there is none', async ({ page, request }) => {
  // Find one active license with several history records and one with a single record.
  const list = await (await request.get('/api/v1/licenses?status=active&per_page=500')).json();
  let withHistory: any, without: any;
  for (const license of list.licenses) {
    const history = await (await request.get(`/api/v1/licenses/${license.id}/history`)).json();
    if (history.entries.length > 1) withHistory ??= license;
    else without ??= license;
    if (withHistory && without) break;
  }
  const repo = new LicenseRepository(page);
  for (const [license, expectation] of [
    [withHistory, 'Connector'],
    [without, 'No historical data available'],
  ]) {
    await repo.open(`?q=${license.device_name}`);
    await expect(repo.rows).toHaveCount(1);
    await repo.rows.first().locator('.history-arrow').click();
    await expect(page.getByRole('heading', { name: `License history: ${license.device_name}` })).toBeVisible();
    await expect(page.locator('.history-panel')).toContainText(expectation);
  }
});

test('Export to CSV downloads every license as Pool_usage_YYYYMMDD.csv', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open('?status=killed&per_page=10');
  const total = (await (await page.request.get('/api/v1/licenses?per_page=1')).json()).total;
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export to CSV' }).click();
  const download = await downloadPromise;
  const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  expect(download.suggestedFilename()).toBe(`Pool_usage_${today}.csv`);
  const fs = await import('fs');
  const text = fs.readFileSync((await download.path())!, 'utf8');
  const lines = text.trimEnd().split('\n');
  expect(lines[0]).toBe(
    'Device Name,IP Address,Serial no.,License Name,Status,Bandwidth,SSL TPS,Grace Period,Activation Date,Recovery Date',
  );
  expect(lines.length - 1).toBe(total);
});

test('a search the server cannot answer says so, and the page still works', async ({ page, pageErrors }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  // The real server cannot be made to fail mid-test, so the browser sees a failure as the
  // server would send it.
  await page.route('**/license-repository?*', (route) =>
    route.fulfill({ status: 500, contentType: 'text/html', body: '<p>Something went wrong on our side (request id req-123)</p>' }),
  );
  await repo.search.fill('x');
  await expect(page.getByRole('alert')).toContainText('The search could not be run');
  await expect(repo.rows).toHaveCount(10);
  // The browser logs the failed fetch itself; that one console error is expected here.
  expect(pageErrors.splice(0)).toEqual([
    'console error: Failed to load resource: the server responded with a status of 500 (Internal Server Error)',
  ]);
});

test('every page fits the window at 1440, 1024 and 390 px: nothing overflows sideways', async ({ page }) => {
  const pages = ['/license-repository', '/usage-and-billing', '/applications', '/connectors', '/licenses', '/offline-licensing', '/metered/usage', '/metered/activations', '/notifications', '/event-log', '/users', '/api-tokens', '/tenants'];
  for (const width of [1440, 1024, 390]) {
    await page.setViewportSize({ width, height: 900 });
    for (const path of pages) {
      await page.goto(path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} at ${width} px`).toBeLessThanOrEqual(0);
      // The bar stays one line high: its menus fold rather than wrap.
      const bar = await page.locator('header.topbar').boundingBox();
      expect(bar!.height, `the top bar of ${path} at ${width} px`).toBeLessThan(70);
    }
  }
});

test('on a phone the menu folds behind one button that opens and closes', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  const repo = new LicenseRepository(page);
  await repo.open();
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav).toBeHidden();
  await page.locator('.site-menu > summary').click();
  await expect(nav.getByRole('link', { name: 'Connectors' })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(nav).toBeHidden();
});
