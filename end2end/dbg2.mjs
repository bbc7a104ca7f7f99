import { chromium } from '@playwright/test';
const base = 'http://127.0.0.1:3300';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const ctx = await browser.newContext({ viewport: { width: Number(process.env.W ?? 1024), height: 900 } });
const page = await ctx.newPage();
await page.goto(base + '/sign-in');
await page.getByLabel('Email').fill('demo@bandpool.local');
await page.getByLabel('Password').fill('dbg password here');
await page.getByRole('button', { name: 'Sign in', exact: true }).click();
await page.waitForURL(/license-repository/);
for (const p of (process.env.P ?? '/license-repository').split(',')) {
  await page.goto(base + p);
  const wide = await page.evaluate(() => {
    const out = [];
    const w = window.innerWidth;
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.right > w + 1 && r.width > 0 && !el.closest('.table-wrap')) out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(r.right)} w=${Math.round(r.width)}`);
    }
    return { sw: document.documentElement.scrollWidth, w, out: out.slice(0, 12) };
  });
  console.log(p, JSON.stringify(wide, null, 1));
  if (process.env.SHOT) await page.screenshot({ path: `${process.env.SHOT}${p.replace(/\W/g, '_')}.png`, fullPage: !!process.env.FULL });
}
await browser.close();
