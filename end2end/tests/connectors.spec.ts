import { test, expect, LicenseRepository, hydrated, expectRefusals } from './fixtures';

// The e2e deployment runs a real connector agent ("e2e-connector") and simulated LoadMasters
// ("e2e-lm-…") that licensed themselves through it (scripts/e2e-server).

test('Kill License asks for the typed word KILL, refuses another, and relays the kill', async ({ page, pageErrors }) => {
  const repo = new LicenseRepository(page);
  // The simulated LoadMasters license themselves as the deployment starts.
  await expect
    .poll(async () => {
      await repo.open('?q=e2e-lm&status=active');
      return repo.rows.filter({ hasText: 'e2e-lm' }).count();
    }, { timeout: 30_000 })
    .toBeGreaterThan(0);
  const row = repo.rows.first();
  await expect(row).toContainText('e2e-lm');
  const serial = (await row.locator('td.col-serial_no').textContent())!.trim();
  const kill = page.getByRole('button', { name: 'Kill License' });
  await expect(kill).toBeDisabled();
  await row.getByRole('radio').check();
  await kill.click();
  const dialog = page.getByRole('dialog', { name: 'Kill License' });
  await expect(dialog).toContainText(`serial ${serial}`);
  // A modal: focus is in it (on the word), and the page under it cannot be reached.
  await expect(dialog.getByLabel('Type KILL to confirm')).toBeFocused();
  expect(await dialog.evaluate((d: HTMLDialogElement) => d.matches(':modal'))).toBe(true);

  // Escape closes it and focus returns to the button that opened it.
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(kill).toBeFocused();
  await kill.click();
  await expect(dialog).toBeVisible();

  // The confirm button waits for exactly KILL.
  const confirm = dialog.getByRole('button', { name: 'Kill License' });
  await dialog.getByLabel('Type KILL to confirm').fill('kill');
  await expect(confirm).toBeDisabled();
  await dialog.getByLabel('Type KILL to confirm').fill('KILL');
  await expect(confirm).toBeEnabled();
  await confirm.click();
  await expect(page.locator('.flash[data-flash="notice"]')).toContainText('sent through connector e2e-connector');
  await expect(dialog).toHaveCount(0);
  expect(pageErrors).toEqual([]);

  // The row is Killed, its device name and IP address gone, its recovery date set.
  await repo.open(`?q=${serial}`);
  await expect(repo.rows).toHaveCount(1);
  await expect(repo.rows.first().locator('td.col-status')).toHaveText('Killed');
  await expect(repo.rows.first().locator('td.col-device_name')).toHaveText('—');
  await expect(repo.rows.first().locator('td.col-recovery_date')).not.toHaveText('—');
});

test('a license not issued through the portal says why it cannot be killed', async ({ page }) => {
  // The seeded pool has licenses issued elsewhere; find one through the REST API.
  const listed = await (await page.request.get('/api/v1/licenses?status=active&per_page=500')).json();
  const elsewhere = listed.licenses.find((l: { issued_through_portal: boolean }) => !l.issued_through_portal);
  expect(elsewhere, 'a license issued elsewhere').toBeTruthy();
  const repo = new LicenseRepository(page);
  await repo.open(`?q=${elsewhere.serial_no}`);
  await expect(repo.rows).toHaveCount(1);
  await repo.rows.first().getByRole('radio').check();
  await page.getByRole('button', { name: 'Kill License' }).click();
  const dialog = page.getByRole('dialog', { name: 'Kill License' });
  await expect(dialog.locator('[data-not-killable]')).toContainText('not issued through this portal');
  await expect(dialog.getByLabel('Type KILL to confirm')).toHaveCount(0);
  await dialog.getByRole('link', { name: 'Close' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('button', { name: 'Kill License' })).toBeFocused();
});

test('killed licenses cannot be chosen for Kill License', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open('?status=killed');
  await expect(repo.rows.first()).toHaveAttribute('data-status', 'killed');
  await expect(repo.rows.first().getByRole('radio')).toBeDisabled();
});

test('Sync licenses shows its progress and moves Last refreshed', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  const refreshed = page.locator('[data-last-refreshed]');
  const before = Number(await refreshed.getAttribute('data-last-refreshed'));
  await page.getByRole('button', { name: 'Sync licenses' }).click();
  const progress = page.locator('.sync-progress');
  await expect(progress).toBeVisible();
  await expect(page).toHaveURL(/\?sync=/);
  await expect(page.locator('[data-sync="finished"]')).toContainText('Synced 1 connector:', { timeout: 20_000 });
  await expect
    .poll(async () => Number(await refreshed.getAttribute('data-last-refreshed')), { timeout: 10_000 })
    .toBeGreaterThan(before);
  await expect(page.getByRole('button', { name: 'Sync licenses' })).toBeEnabled();
});

test('the Connectors page shows the live connector and adds one with a one-time token', async ({ page }) => {
  const live = page.locator('tr[data-connector="e2e-connector"]');
  await expect
    .poll(async () => {
      await page.goto('/connectors');
      await hydrated(page);
      return `${await live.locator('[data-status]').getAttribute('data-status')} ${await live.locator('[data-loadmasters]').textContent()}`;
    }, { timeout: 30_000 })
    .toMatch(/^up [1-9]/);
  const name = `dc-${Date.now()}`;
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Add connector' }).click();
  await expect(page.locator('.flash [data-secret]')).toHaveText(/^bpr_[0-9a-f]{64}$/);
  await expect(page.locator(`tr[data-connector="${name}"] [data-status]`)).toHaveAttribute('data-status', 'pending');
});

test('a LoadMaster holding a pooled license cannot leave the inventory', async ({ page, pageErrors }) => {
  await page.goto('/connectors');
  await hydrated(page);
  // Remove is not offered while the LoadMaster holds a license (the server refuses it too).
  const row = page.locator('table.devices tr').filter({ hasText: 'Pooled license' }).filter({ hasText: 'e2e-lm' }).first();
  await expect(row).toBeVisible();
  await expect(row.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  await expect(row.getByRole('button', { name: 'Block' })).toBeVisible();
  expect(pageErrors).toEqual([]);
});

test('the License Repository and Connectors follow changes live, without a reload', async ({ page, baseURL }) => {
  const repo = new LicenseRepository(page);
  await repo.open();
  const killed = page.locator('.status-filters a[data-status="killed"] .count');
  const count = async () => Number(((await killed.textContent()) ?? '').replace(/\D/g, ''));
  const before = await count();
  const allocation = await page.locator('[data-figure="allocation"]').textContent();
  // Marks this document: a reload would lose it.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  // Someone is choosing a row by keyboard when the update arrives: it must keep their choice
  // and their focus.
  const radio = repo.rows.locator('input[name=kill]:not([disabled])').first();
  await radio.check();
  await radio.focus();
  const chosen = await radio.getAttribute('value');
  const list = await (await page.request.get('/api/v1/licenses?status=active&per_page=500')).json();
  const license = list.licenses.find(
    (l: { id: string; issued_through_portal: boolean; device_name: string | null }) =>
      l.issued_through_portal && !(l.device_name ?? '').startsWith('e2e-') && l.id !== chosen,
  );
  const answer = await page.request.post(`/api/v1/licenses/${license.id}/kill`, { data: { confirm: 'KILL' }, headers: { Origin: baseURL! } });
  expect(answer.status()).toBe(200);
  // Within two seconds (and a little for the browser's own work).
  await expect.poll(count, { timeout: 2_500, intervals: [100] }).toBeGreaterThan(before);
  await expect(page.locator('[data-figure="allocation"]')).not.toHaveText(allocation!);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  const same = page.locator(`input[name=kill][value="${chosen}"]`);
  await expect(same).toBeChecked();
  await expect(same).toBeFocused();
  await expect(page.getByRole('button', { name: 'Kill License' })).toBeEnabled();

  await page.goto('/connectors');
  await hydrated(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));
  const name = `live-${Date.now()}`;
  const created = await page.request.post('/api/v1/connectors', { data: { name }, headers: { Origin: baseURL! } });
  expect(created.status()).toBe(201);
  await expect(page.locator(`tr[data-connector="${name}"]`)).toBeVisible({ timeout: 2_500 });
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
});

test('Run diagnostics asks the live connector to ping its gateway, DNS servers and the portal, and shows the results', async ({ page, pageErrors }) => {
  await page.goto('/connectors');
  await hydrated(page);
  const row = page.locator('tr[data-connector="e2e-connector"]');
  await row.getByRole('button', { name: 'Run diagnostics' }).click();
  await expect(page.getByText('Connector e2e-connector runs its diagnostics at its next heartbeat')).toBeVisible();
  // The agent beats every five seconds here; the results replace the waiting line live.
  const cell = page.locator('tr[data-connector="e2e-connector"] td[data-diagnostics]');
  await expect(cell.locator('li[data-check="portal"]')).toContainText('Ping Licensing Server 127.0.0.1:3100: answered in', { timeout: 20_000 });
  await expect(cell.locator('li[data-check="portal"]')).toHaveAttribute('data-ok', 'true');
  await expect(cell.locator('li[data-check="default_gateway"]')).toContainText('Ping Default Gateway');
  await expect(cell.locator('li[data-check="dns_server"]').first()).toContainText('Ping DNS Servers');
  await expect(cell.locator('[data-waiting]')).toHaveCount(0);
  expect(pageErrors).toEqual([]);
});
