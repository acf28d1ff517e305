// Calls the demo agent from the console in chromium: the fake microphone plays WAV (a caller's
// question, looped), the page's "Call" button places the WebRTC call; the agent's audio must
// arrive (inbound energy), then the page hangs up. Env: BASE, WAV, CHROMIUM. Prints one JSON
// line {failures, heard}; exits 1 on a failure.
const { chromium } = require('playwright-core');

const base = process.env.BASE;
const failures = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${process.env.WAV}`, '--autoplay-policy=no-user-gesture-required'],
  });
  let heard = null;
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/sign-in`);
    await page.fill('input[name=tenant]', 't');
    await page.fill('input[name=email]', 'owner@example.com');
    await page.fill('input[name=password]', 'a long passphrase here');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    await page.goto(`${base}/agents/demo`);
    await page.click('#call-button');
    await page.waitForSelector('text=Connected: talk to the agent.', { timeout: 15000 });
    // The greeting, the caller's question (the WAV), the answer.
    await page.waitForTimeout(16000);
    heard = await page.evaluate(async () => {
      const stats = await window.parleyCall.getStats();
      let r = null;
      stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') r = { packets: s.packetsReceived, energy: s.totalAudioEnergy, samples: s.totalSamplesReceived }; });
      return r;
    });
    check(heard && heard.packets > 200, `the agent's audio arrived: ${JSON.stringify(heard)}`);
    check(heard && heard.energy > 0.01, `and was not silence: ${JSON.stringify(heard)}`);
    await page.click('#hangup-button');
    await page.waitForSelector('text=You hung up.', { timeout: 5000 });
  } catch (e) {
    failures.push(`error: ${e.stack || e}`);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ failures, heard }));
  process.exit(failures.length ? 1 : 0);
})();
