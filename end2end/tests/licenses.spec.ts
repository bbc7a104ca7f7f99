import { test, expect, hydrated } from './fixtures';

// The demo tenant's real connector agent (scripts/e2e-server): its local API, where
// LoadMasters ask for licenses.
const agent = `http://127.0.0.1:${process.env.E2E_AGENT_PORT ?? 3101}`;

test('the Licenses table lists licenses with their subscriptions, sorts, and follows a new LoadMaster live', async ({ page, baseURL }) => {
  await page.goto('/licenses');
  await hydrated(page);
  // Listening for changes before making any.
  await expect(page.locator('body')).toHaveAttribute('data-stream', 'open');
  await expect(page.getByRole('heading', { level: 1, name: 'Licenses' })).toBeVisible();
  const table = page.locator('table.licenses-table');
  // The demo's pooled licenses have no subscriptions: each says Classic under its type.
  await expect(table.locator('td.subscription', { hasText: 'Classic' }).first()).toBeVisible();
  // Marks this document: a reload would lose it.
  await page.evaluate(() => ((window as any).__sameDocument = true));

  // A LoadMaster takes a temporary license through a connector: it appears without a reload
  // (this page re-renders every licensed LoadMaster, so it is given longer than the two
  // seconds the License Repository keeps under a loaded CI machine), its type first, then
  // Enterprise Plus and the feature subscriptions, indented.
  const serial = String(9_900_000 + Math.floor(Math.random() * 90_000));
  const granted = await page.request.post(`${agent}/v1/activate`, {
    data: {
      serial_no: serial,
      device_name: `e2e-temp-${serial}`,
      ip_address: `10.63.${Math.floor(Number(serial) / 256) % 256}.${Number(serial) % 256}`,
      sku: 'VLM-SPLA',
      license_type_id: 'vlm-200',
      kind: 'temporary',
    },
  });
  expect(granted.status(), await granted.text()).toBe(201);
  const license = (await granted.json()).license_id;
  const rows = page.locator(`tr[data-license="${license}"]`);
  await expect(rows.first()).toBeVisible({ timeout: 10_000 });
  await expect(rows.locator('td:nth-child(3)')).toHaveText([
    'VLM-200', 'Enterprise Plus', 'ESP Subscription', 'GEO Blacklist IP', 'ModSecurity',
    'WAF Subscription', 'SDN Subscription', 'TCP Multiplexing',
  ]);
  await expect(rows.nth(1)).toHaveAttribute('data-subscription', 'true');
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  // Sorted by IP address ascending by default; Expiration Date sorts by the soonest date,
  // so the only license with a term comes first; a second click reverses.
  const addresses = await table.locator('tbody tr[data-subscription="false"] td:first-child').allTextContents();
  const numeric = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
  const known = addresses.filter((a) => a.includes('.'));
  expect(known).toEqual([...known].sort((a, b) => numeric(a) - numeric(b)));
  await page.getByRole('link', { name: /Expiration Date/ }).click();
  await expect(page).toHaveURL(/sort=expiration_date&order=asc/);
  await expect(table.locator('tbody tr').first()).toHaveAttribute('data-license', license);
  await page.getByRole('link', { name: /Expiration Date/ }).click();
  await expect(page).toHaveURL(/order=desc/);

  // Killed in the portal: it leaves the table, again without a reload.
  await page.goto('/licenses');
  await hydrated(page);
  // Listening for changes before making any.
  await expect(page.locator('body')).toHaveAttribute('data-stream', 'open');
  await expect(page.locator(`tr[data-license="${license}"]`).first()).toBeVisible();
  const killed = await page.request.post(`/api/v1/licenses/${license}/kill`, { data: { confirm: 'KILL' }, headers: { Origin: baseURL! } });
  expect(killed.status()).toBe(200);
  await expect(page.locator(`tr[data-license="${license}"]`)).toHaveCount(0, { timeout: 10_000 });
});

test('an operator records an order on the Entitlement page, and members see it on the Licenses page', async ({ page, pageErrors }) => {
  await page.goto('/tenants');
  await hydrated(page);
  await page.locator('tr[data-tenant="Demo Networks"]').getByRole('link', { name: 'Entitlement' }).click();
  const orders = page.locator('[data-section="orders"]');
  const orderId = `ORD-E2E-${Date.now()}`;
  const supportEnds = new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10);
  await orders.getByLabel('Order ID').fill(orderId);
  await orders.locator('select[name="support_tier"]').selectOption({ label: 'Enterprise' });
  await orders.getByLabel('Support until').fill(supportEnds);
  await orders.getByLabel(/one license type per line/).fill('vlm-500=2\nvlm-2000=1@2027-12-31');
  await orders.getByRole('button', { name: 'Record order' }).click();
  await expect(page.getByText(`Order ${orderId} recorded.`)).toBeVisible();
  const row = page.locator(`[data-section="orders"] tr[data-order="${orderId}"]`);
  await expect(row).toContainText('Enterprise');
  await expect(row).toContainText('2 x VLM-500 (0 in use)');
  await expect(row).toContainText('1 x VLM-2000 (0 in use, until 2027-12-31)');
  // A malformed line is refused with the line named, and nothing is recorded.
  await orders.getByLabel('Order ID').fill(`${orderId}-BAD`);
  await orders.getByLabel('Support until').fill(supportEnds);
  await orders.getByLabel(/one license type per line/).fill('vlm-500=lots');
  await orders.getByRole('button', { name: 'Record order' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await expect(page.locator(`tr[data-order="${orderId}-BAD"]`)).toHaveCount(0);

  await page.goto('/licenses');
  await expect(page.locator(`[data-section="orders"] tr[data-order="${orderId}"]`)).toHaveCount(2);
  expect(pageErrors).toEqual([]);
});

test('Owners correct a LoadMaster\'s HA and GEO partners on the Connectors page', async ({ page }) => {
  await page.goto('/connectors');
  await hydrated(page);
  const devices = page.locator('tr[data-device]').filter({ hasText: 'e2e-lm-' });
  await expect(devices.nth(2)).toBeVisible({ timeout: 30_000 });
  const serials = await devices.evaluateAll((rows) => rows.slice(0, 3).map((r) => r.getAttribute('data-device')!));
  const name = (await devices.first().locator('td').first().textContent())!.trim();
  const first = page.locator(`tr[data-device="${serials[0]}"]`);
  await first.getByLabel(`HA partner of ${name}`).fill(serials[1]);
  await first.getByLabel(`GEO partners of ${name}`).fill(serials[2]);
  await first.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText(`${name}'s partners are saved.`)).toBeVisible();
  await page.reload();
  await expect(page.locator(`tr[data-device="${serials[0]}"]`).getByLabel(`HA partner of ${name}`)).toHaveValue(serials[1]);
  await expect(page.locator(`tr[data-device="${serials[0]}"]`).getByLabel(`GEO partners of ${name}`)).toHaveValue(serials[2]);
  // Its own serial as its partner is refused, and the saved partners stay.
  await page.locator(`tr[data-device="${serials[0]}"]`).getByLabel(`HA partner of ${name}`).fill(serials[0]);
  await page.locator(`tr[data-device="${serials[0]}"]`).getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('alert')).toBeVisible();
  await page.reload();
  await expect(page.locator(`tr[data-device="${serials[0]}"]`).getByLabel(`HA partner of ${name}`)).toHaveValue(serials[1]);
  // Put back as it was, for the other specs.
  await page.locator(`tr[data-device="${serials[0]}"]`).getByLabel(`HA partner of ${name}`).fill('');
  await page.locator(`tr[data-device="${serials[0]}"]`).getByLabel(`GEO partners of ${name}`).fill('');
  await page.locator(`tr[data-device="${serials[0]}"]`).getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText(`${name}'s partners are saved.`)).toBeVisible();
});
