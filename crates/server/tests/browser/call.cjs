// Calls the demo agent from the console in chromium: the fake microphone plays WAV (a caller's
// question, looped), the page's "Call" button places the WebRTC call; the agent's audio must
// arrive (inbound energy) and is recorded on the page (Web Audio, 8 kHz) into HEARD, a WAV the
// test transcribes; then the page hangs up, and the call is found on the Calls page with its
// timeline (checked with axe-core). Env: BASE, WAV, HEARD, CHROMIUM. Prints one JSON line {failures, heard}; exits 1 on
// a failure.
const fs = require('fs');
const { chromium } = require('playwright-core');

// 16-bit mono PCM samples as a WAV file.
function wav(samples, rate) {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + samples.length * 2, 4); b.write('WAVE', 8);
  b.write('fmt ', 12); b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34);
  b.write('data', 36); b.writeUInt32LE(samples.length * 2, 40);
  samples.forEach((s, i) => b.writeInt16LE(s, 44 + i * 2));
  return b;
}

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
    // Record what the page plays: the agent's stream, resampled to 8 kHz by Web Audio.
    await page.evaluate(() => {
      const stream = document.getElementById('call-audio').srcObject;
      const ctx = new AudioContext({ sampleRate: 8000 });
      const tap = ctx.createScriptProcessor(4096, 1, 1);
      window.heard = [];
      tap.onaudioprocess = (e) => { window.heard.push(Int16Array.from(e.inputBuffer.getChannelData(0), (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32767))))); };
      ctx.createMediaStreamSource(stream).connect(tap);
      tap.connect(ctx.destination);
    });
    // The greeting, the caller's question (the WAV), the answer.
    await page.waitForTimeout(18000);
    const samples = await page.evaluate(() => window.heard.flatMap((c) => Array.from(c)));
    fs.writeFileSync(process.env.HEARD, wav(samples, 8000));
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
    // The call on the Calls page, once its record is final, with its turns on its own page.
    let found = false;
    for (let i = 0; i < 25 && !found; i++) {
      await page.goto(`${base}/calls?agent=demo`);
      const link = page.locator('a[href^="/calls/"]').first();
      if (await link.count()) {
        await link.click();
        await page.waitForLoadState();
        found = (await page.locator('text=Reply 1').count()) > 0;
      }
      if (!found) await page.waitForTimeout(400);
    }
    check(found, 'the call is on the Calls page with its turns in the timeline');
    // axe-core on the call's page, as on every other page of the console.
    await page.evaluate(fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8'));
    const axe = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
    check(axe.passes.length > 10 && serious.length === 0, `no serious or critical accessibility violation on the call's page: ${serious}`);
    if (process.env.SHOTS) await page.screenshot({ path: `${process.env.SHOTS}/call-timeline.png`, fullPage: true });
  } catch (e) {
    failures.push(`error: ${e.stack || e}`);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ failures, heard }));
  process.exit(failures.length ? 1 : 0);
})();
