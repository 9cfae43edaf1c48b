// A real browser: Debian's chromium driven by playwright-core opens /docs, tries
// GET /anonymous, executes it, reads the token from the page and verifies it (HS256).
// Usage: node browser.mjs BASE_URL SECRET SCREENSHOT_PATH
import { chromium } from 'playwright-core';
import { jwtVerify } from 'jose';

const [base, secret, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(`${base}/docs`, { waitUntil: 'networkidle', timeout: 30000 });
  const op = page.locator('#operations-Tokens-issue_token');
  await op.locator('.opblock-summary').first().click();
  await op.locator('button.try-out__btn').click();
  await op.locator('button.execute').click();
  const body = op.locator('.live-responses-table .response-col_description pre').first();
  await body.waitFor({ timeout: 30000 });
  const text = (await body.innerText()).trim().replace(/^"|"$/g, '');
  await page.screenshot({ path: shot, fullPage: true });
  const { payload } = await jwtVerify(text, new TextEncoder().encode(secret), { algorithms: ['HS256'] });
  if (payload.user_id !== -1 || payload.token_type !== 'access') throw new Error(JSON.stringify(payload));
  console.log(`PASS browser swagger-ui try-it-out token verifies (screenshot ${shot})`);
} catch (e) {
  console.log(`FAIL browser swagger-ui try-it-out: ${e.message}`);
} finally {
  await browser.close();
}
