// Drives the Parley console in Debian's chromium (playwright-core, no bundled browser) as a
// business's owner and a viewer would, and checks every page with axe-core. Run by
// tests/the_console_in_chromium.rs, which starts the server and creates the tenant, its users
// and an agent. Env: BASE (the console's URL), SHOTS (where screenshots go), CHROMIUM.
// Prints one JSON line: {"failures": [...], "violations": [...]}; exits 1 when either is not empty.
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const base = process.env.BASE;
const shots = process.env.SHOTS;
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const failures = [];
const violations = [];
const audited = [];
const check = (ok, what) => { if (!ok) failures.push(what); };

async function audit(page, name) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  check(result.testEngine.name === 'axe-core' && result.passes.length + result.violations.length > 10, `axe-core ran on ${name}`);
  audited.push(`${name}: ${result.passes.length} rules passed, ${result.violations.length} violated`);
  // Long names (the test makes the longest the API takes) wrap: nothing scrolls sideways.
  const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  check(scroll <= width, `${name} fits its width: ${scroll} > ${width}`);
  for (const v of result.violations) {
    if (v.impact === 'serious' || v.impact === 'critical') {
      violations.push({ page: name, id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) });
    }
  }
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function signIn(context, email) {
  const page = await context.newPage();
  const blocked = [];
  page.on('console', m => { if (/Content Security Policy/i.test(m.text())) blocked.push(m.text()); });
  await page.goto(`${base}/sign-in`);
  await page.fill('input[name=tenant]', 't');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', 'a long passphrase here');
  await page.click('button[type=submit]');
  await page.waitForLoadState();
  if (page.url() !== `${base}/`) throw new Error(`sign-in as ${email} ended at ${page.url()}: ${await page.textContent('main')}`);
  return { page, blocked };
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    // The owner: sign-in, overview, calls, an agent with a broken flow, the policy, an export.
    const owner = await browser.newContext({ acceptDownloads: true });
    const first = await owner.newPage();
    await first.goto(`${base}/sign-in`);
    await audit(first, 'sign-in');
    await first.close();
    const { page, blocked } = await signIn(owner, 'owner@example.com');
    check(await page.isVisible('text=Calls today'), 'the overview shows the calls of the day');
    await audit(page, 'overview');
    await page.click('nav >> text=Calls');
    check(await page.isVisible('table') || await page.isVisible('text=No calls.'), 'the calls page lists calls');
    await audit(page, 'calls');

    await page.click('nav >> text=Agents');
    await audit(page, 'agents');
    await page.click('a[href="/agents/front"]');
    const broken = 'name: front\nbusiness: B\ngreeting: Hello.\nhours: always\nflow:\n  - id: start\n    type: say\n    text: Hi\n    next: nowhere\n';
    await page.fill('textarea[name=yaml]', broken);
    await page.click('text=Save');
    const problems = await page.textContent('section.problems');
    check(/Not saved/.test(problems), 'a broken flow is not saved');
    check(/Line \d+, node start: .*nowhere/.test(problems.replace(/\s+/g, ' ')), `the problem names its line and node: ${problems}`);
    await audit(page, 'agent-editor');
    await page.goto(`${base}/agents/front`);
    await page.click('text=Start a test chat');
    check(await page.isVisible('li.agent >> text=Hello there.'), 'the test chat starts with the greeting');
    await page.fill('input[name=say]', 'what are your opening hours');
    await page.click('text=Send');
    check(await page.isVisible('li.tester >> text=what are your opening hours'), 'the tester\'s line is shown');
    check((await page.$$('li.agent')).length >= 2, 'the agent answered in the test chat');
    await audit(page, 'test-chat');

    // A change is a new version; the old one shows what rolling back changes, and rolls back.
    await page.goto(`${base}/agents/front`);
    await page.fill('textarea[name=yaml]', 'name: front\nbusiness: B\ngreeting: Hello again.\nhours: always\n');
    await page.click('form.editor >> text=Save');
    check(await page.isVisible('text=Saved.'), 'the change is saved');
    await page.click('section.versions >> text=Version 1');
    check(await page.isVisible('pre.diff del >> text=greeting: Hello again.') && await page.isVisible('pre.diff ins >> text=greeting: Hello there.'), 'version 1 shows what a rollback changes');
    await audit(page, 'agent-version');
    await page.click('text=Roll back to version 1');
    check(await page.isVisible('text=Rolled back to version 1.'), 'the rollback is confirmed');
    check((await page.inputValue('textarea[name=yaml]')).includes('greeting: Hello there.'), 'the editor has version 1\'s document again');

    await page.click('nav >> text=Privacy');
    await page.fill('input[name=transcript_days]', '7');
    await page.click('text=Save the policy');
    check(await page.isVisible('text=Transcripts are kept encrypted for 7 days, then deleted.'), 'the policy was saved and reads plainly');
    await audit(page, 'privacy');
    await page.fill('input[name=phone]', '+15550100004');
    await page.selectOption('select[name=kind]', 'access');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Continue')]);
    const exported = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
    check(exported.kind === 'access' && typeof exported.manifest.signature === 'string', 'the access export downloads with its signed manifest');
    await page.goto(`${base}/privacy/audit`);
    check(await page.isVisible('text=The chain verifies'), 'the audit chain verifies');
    await audit(page, 'audit-log');
    await page.click('nav >> text=Usage');
    check(await page.isVisible('figcaption >> text=Call minutes per month'), 'the usage page charts the months');
    await audit(page, 'usage');
    await page.click('nav >> text=Settings');
    await page.fill('form[action="/settings/keys"] input[name=name]', 'crm');
    await page.click('text=Create a key');
    check(/^pk_/.test((await page.textContent('section.secret code')).trim()), 'a new key is shown once');
    await audit(page, 'settings');
    check(blocked.length === 0, `nothing of the console's own was blocked by its policy: ${blocked}`);

    // A viewer: no edit controls, and the edit refused if sent anyway.
    const viewerContext = await browser.newContext();
    const viewer = (await signIn(viewerContext, 'viewer@example.com')).page;
    await viewer.goto(`${base}/agents/front`);
    check(await viewer.isVisible('pre.document'), 'a viewer reads the document');
    check(!(await viewer.isVisible('textarea')) && !(await viewer.isVisible('button:has-text("Save")')), 'a viewer sees no editor');
    const csrf = await viewer.getAttribute('input[name=csrf]', 'value');
    const sent = await viewerContext.request.post(`${base}/agents/front`, { form: { csrf, yaml: 'name: front\nbusiness: B\ngreeting: Hijacked.\nhours: always\n' }, headers: { Origin: base }, maxRedirects: 0 });
    check(sent.status() === 403, `the edit is refused anyway: ${sent.status()}`);
    await viewer.goto(`${base}/privacy`);
    check(!(await viewer.isVisible('text=Save the policy')), 'a viewer cannot change the policy');
    check(!(await viewer.isVisible('nav >> text=Settings')), 'a viewer has no settings');
    await audit(viewer, 'privacy-viewer');

    // An operator: their own sign-in, the tenants, a new tenant and its limits.
    const opsContext = await browser.newContext();
    const ops = await opsContext.newPage();
    await ops.goto(`${base}/operator/sign-in`);
    await ops.fill('input[name=email]', 'ops@example.com');
    await ops.fill('input[name=password]', 'an operator passphrase');
    await ops.click('button[type=submit]');
    await ops.waitForLoadState();
    check(await ops.isVisible('a[href="/operator/tenants/t"]'), `the operator sees the tenants: ${ops.url()} ${(await ops.textContent('main')).slice(0, 300)}`);
    await ops.fill('input[name=id]', 'acme');
    await ops.fill('input[name=name]', 'Acme Dental');
    await ops.click('button:has-text("Create")');
    await ops.waitForLoadState();
    await ops.fill('input[name=max_minutes_per_month]', '500');
    await ops.click('text=Save the limits');
    await ops.waitForLoadState();
    check(await ops.inputValue('input[name=max_minutes_per_month]') === '500', 'the limit is saved');
    await audit(ops, 'operator-tenant');
    await ops.goto(`${base}/operator`);
    check(await ops.isVisible('text=Acme Dental'), 'the new tenant is listed');
    await audit(ops, 'operator-tenants');
  } catch (e) {
    failures.push(`error: ${e.stack || e}`);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ failures, violations, audited }));
  process.exit(failures.length || violations.length ? 1 : 0);
})();
