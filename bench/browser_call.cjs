// The page side of bench/browser_call_latency.sh: signs in as the bench tenant's owner, saves
// the demo agent (AGENT, YAML) in the console's editor, then opens CALLS pages that each press
// "Call" at once. Each page's microphone is Web Audio playing WAV (8 kHz 16-bit mono: questions
// apart by long silences), so the page knows on its audio clock when each question ends; the
// agent's stream is tapped on the same clock, and a question's voice to voice is the time from
// its end to the first loud 20 ms of the reply (within 10 s). Prints each call's figures and a
// summary. Env: BASE, WAV, CALLS, AGENT, CHROMIUM.
const fs = require('fs');
const { chromium } = require('playwright-core');

const LOUD = 0.01; // mean |sample| of 20 ms above this is speech (full scale 1)

function readWav(file) {
  const b = fs.readFileSync(file);
  let off = 12;
  let rate = 8000;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const len = b.readUInt32LE(off + 4);
    if (id === 'fmt ') rate = b.readUInt32LE(off + 12);
    if (id === 'data') return { rate, data: b.subarray(off + 8, off + 8 + len) };
    off += 8 + len + (len & 1);
  }
  throw new Error(`no data in ${file}`);
}

// Seconds into the WAV at which each question ends: its last loud 20 ms, then a second quiet.
function questionEnds(data, rate) {
  const n = rate / 50;
  const ends = [];
  let last = -1;
  let quiet = 0;
  for (let i = 0; (i + n) * 2 <= data.length; i += n) {
    let sum = 0;
    for (let j = i; j < i + n; j++) sum += Math.abs(data.readInt16LE(j * 2));
    if (sum / n / 32768 > LOUD) { last = (i + n) / rate; quiet = 0; } else if (last >= 0 && ++quiet === 50) { ends.push(last); last = -1; }
  }
  return ends;
}

// In the page: a synthetic microphone and a tap on the agent's stream, on one audio clock.
function setUpPage({ b64, rate, loud }) {
  const ctx = new AudioContext({ latencyHint: 'interactive' });
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const pcm = new Int16Array(bytes.buffer);
  const buffer = ctx.createBuffer(1, pcm.length, rate);
  const channel = buffer.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) channel[i] = pcm[i] / 32768;
  const mic = ctx.createMediaStreamDestination();
  navigator.mediaDevices.getUserMedia = async () => mic.stream;
  const bench = { loud: [], start: null };
  bench.play = () => {
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(mic);
    bench.start = ctx.currentTime + 0.05;
    source.start(bench.start);
  };
  bench.tap = (stream) => {
    // 256 frames (about 5 ms): a block's time is the clock when it is handed over.
    const tap = ctx.createScriptProcessor(256, 1, 1);
    const block = Math.round(ctx.sampleRate / 50);
    let sum = 0;
    let count = 0;
    tap.onaudioprocess = (e) => {
      const x = e.inputBuffer.getChannelData(0);
      for (let i = 0; i < x.length; i++) {
        sum += Math.abs(x[i]);
        if (++count === block) {
          if (sum / block > loud) bench.loud.push(ctx.currentTime - (x.length - 1 - i) / ctx.sampleRate);
          sum = 0;
          count = 0;
        }
      }
    };
    ctx.createMediaStreamSource(stream).connect(tap);
    tap.connect(ctx.destination);
  };
  window.bench = bench;
}

function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * q))] : NaN;
}

(async () => {
  const { rate, data } = readWav(process.env.WAV);
  const ends = questionEnds(data, rate);
  const b64 = data.toString('base64');
  const seconds = data.length / 2 / rate;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${process.env.BASE}/sign-in`);
    await page.fill('input[name=tenant]', 'bench');
    await page.fill('input[name=email]', 'owner@bench.example');
    await page.fill('input[name=password]', 'a bench passphrase');
    await page.click('button[type=submit]');
    await page.waitForLoadState();
    await page.goto(`${process.env.BASE}/agents/demo`);
    await page.fill('textarea[name=yaml]', fs.readFileSync(process.env.AGENT, 'utf8'));
    await page.click('form.editor button[type=submit]');
    await page.waitForSelector('text=Saved.');

    const calls = Number(process.env.CALLS || 1);
    const results = await Promise.all(Array.from({ length: calls }, async (_, n) => {
      const p = await context.newPage();
      await p.goto(`${process.env.BASE}/agents/demo`);
      await p.evaluate(setUpPage, { b64, rate, loud: LOUD });
      await p.click('#call-button');
      await p.waitForSelector('text=Connected: talk to the agent.', { timeout: 20000 });
      await p.waitForFunction(() => document.getElementById('call-audio').srcObject);
      await p.evaluate(() => { window.bench.tap(document.getElementById('call-audio').srcObject); window.bench.play(); });
      await p.waitForTimeout((seconds + 6) * 1000);
      const { loud, start } = await p.evaluate(() => ({ loud: window.bench.loud, start: window.bench.start }));
      await p.click('#hangup-button');
      const replies = ends.map((end) => {
        const at = start + end;
        const onset = loud.find((t) => t > at);
        return onset !== undefined && onset - at < 10 ? Math.round((onset - at) * 1000) : null;
      });
      console.log(`call ${n + 1}: voice to voice in the page (ms): ${replies.map((r) => (r === null ? '-' : r)).join(' ')}`);
      return replies;
    }));
    const all = results.flat().filter((r) => r !== null).sort((a, b) => a - b);
    const missed = results.flat().length - all.length;
    console.log(`in the page, replies=${all.length} (no reply within 10 s: ${missed}) median=${quantile(all, 0.5)} ms p90=${quantile(all, 0.9)} ms`);
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
