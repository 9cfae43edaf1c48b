// A real browser on /demo: Debian's chromium driven by playwright-core clicks "Get a token" the
// way a person would (keyboard), and reads what the page says. With POW=altcha the token comes
// through the vendored ALTCHA widget; the page must say the signature verified (or, under HS*,
// that a shared secret is needed), make no request outside the service, and break no CSP rule.
// Usage: node demo.mjs CASES_JSON [SOLVES]
//   CASES_JSON: [{"name", "url", "pow": true|false, "expect": "verified"|"secret"}, ...]
//   SOLVES: how many tokens to get on the first POW case, to time the widget (median printed).
import { chromium } from 'playwright-core';

const cases = JSON.parse(process.argv[2]);
const solves = Number(process.argv[3] || 1);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

let timed = false;
try {
  for (const c of cases) {
    const label = `browser /demo ${c.name} (POW=${c.pow ? 'altcha' : 'off'})`;
    const page = await browser.newPage();
    const foreign = [];
    const violations = [];
    const payloads = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(c.url + '/') && !req.url().startsWith('data:') && !req.url().startsWith('blob:')) {
        foreign.push(req.url());
      }
      const altcha = req.headers()['altcha'];
      if (altcha) payloads.push(altcha);
    });
    page.on('console', (msg) => {
      if (/Content.Security.Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
    });
    try {
      await page.goto(`${c.url}/demo`, { waitUntil: 'networkidle', timeout: 30000 });
      const rounds = c.pow && !timed ? solves : 1;
      const times = [];
      for (let i = 0; i < rounds; i++) {
        // Keyboard, as a person without a mouse would: focus the button, press Enter.
        await page.locator('#get').focus();
        const t0 = Date.now();
        await page.keyboard.press('Enter');
        await page.waitForFunction(() => /^(Got a token|No token)/.test(document.getElementById('status').textContent), null, { timeout: 120000 });
        times.push(Date.now() - t0);
        const status = await page.locator('#status').innerText();
        if (!status.startsWith('Got a token for user_id -1')) throw new Error(`status: ${status}`);
      }
      const verdict = await page.locator('#verdict').innerText();
      const claims = JSON.parse(await page.locator('#claims').innerText());
      if (claims.user_id !== -1 || claims.token_type !== 'access') throw new Error(`claims ${JSON.stringify(claims)}`);
      if (c.expect === 'verified' && !verdict.startsWith('Verified:')) throw new Error(`verdict: ${verdict}`);
      if (c.expect === 'secret' && !/shared secret/.test(verdict)) throw new Error(`verdict: ${verdict}`);
      if (c.pow && payloads.length !== rounds) throw new Error(`${payloads.length} payloads sent for ${rounds} tokens`);
      if (!c.pow && payloads.length !== 0) throw new Error('a payload was sent with POW=off');
      if (foreign.length) throw new Error(`requests outside the service: ${foreign.join(' ')}`);
      if (violations.length) throw new Error(`CSP violations: ${violations.join(' | ')}`);
      // The button and the widget have accessible names.
      const name = await page.getByRole('button', { name: 'Get a token' }).count();
      if (name !== 1) throw new Error('no button named "Get a token"');
      console.log(`PASS ${label}: ${verdict.split(':')[0]}, ${page.url()}`);
      if (c.pow && !timed) {
        timed = true;
        const solutions = payloads.map((p) => JSON.parse(Buffer.from(p, 'base64').toString()).solution);
        const workerMs = solutions.map((s) => s.time);
        // Solves are geometric (a few take 3x the mean): the widget's rate of attempts (counters
        // tried, all workers, per ms of solving) estimates the typical solve far better.
        const rate = solutions.reduce((n, s) => n + s.counter + 1, 0) / workerMs.reduce((a, b) => a + b, 0);
        const mean = 4096 / rate;
        console.log(`PASS ${label} timing over ${rounds} tokens: widget solve median ${median(workerMs).toFixed(0)} ms (min ${Math.min(...workerMs).toFixed(0)}, max ${Math.max(...workerMs).toFixed(0)}); ${(rate * 1000).toFixed(0)} attempts/s, so ${mean.toFixed(0)} ms mean and ${(mean * Math.LN2).toFixed(0)} ms median expected for 4096 attempts; click to verified token median ${median(times)} ms`);
      }
    } catch (e) {
      await page.screenshot({ path: `${process.env.SHOTS || '/tmp'}/demo-${c.name}.png`, fullPage: true }).catch(() => {});
      console.log(`FAIL ${label}: ${e.message}`);
    } finally {
      await page.close();
    }
  }
} finally {
  await browser.close();
}
