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
