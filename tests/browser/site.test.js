#!/usr/bin/env node
// Browser test of the site `kb build` writes: starts `kb serve` on a free
// port, opens the site in headless Chromium (playwright-core driving Debian's
// /usr/bin/chromium), switches language (landing on the section or FAQ
// question the reader was at), searches in Chinese and in English
// and checks the hits, opens the search page from file:// with no server at
// all, checks the phone layout, searches a generated site large enough to be
// paginated (loading only the index parts the query needs), and opens every page of a corpus full of
// <script> / onerror= / javascript: payloads to prove none of them runs.
// Screenshots go to tests/browser/out/.
//
// Needs the kb binary built (`cargo build -p kb`); KB_BIN and CHROMIUM
// override where the binary and the browser are.

'use strict';

const { chromium } = require('playwright-core');
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL } = require('url');

const repo = path.resolve(__dirname, '..', '..');
const kbBin = process.env.KB_BIN || path.join(repo, 'target', 'debug', 'kb');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = path.join(__dirname, 'out');
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

let failures = 0;
let passes = 0;
function check(cond, what) {
  if (cond) {
    passes += 1;
    console.log(`ok   ${what}`);
  } else {
    failures += 1;
    console.log(`FAIL ${what}`);
  }
}

function build(corpus, out) {
  execFileSync(kbBin, ['build', '--quiet', '--corpus', corpus, '--out', out], { stdio: 'inherit' });
}

/** Starts `kb serve --port 0` and resolves with { proc, base } once it prints its URL. */
function serve(out) {
  return new Promise((resolve, reject) => {
    const proc = spawn(kbBin, ['serve', '--out', out, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const timer = setTimeout(() => reject(new Error('kb serve did not print its URL')), 15000);
    proc.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, base: m[0] });
      }
    });
    proc.on('exit', (code) => reject(new Error(`kb serve exited with ${code}`)));
  });
}

/** A page that fails the test on script errors and dialogs, and allows no
 * request off this machine (the site must work offline). */
async function guardedPage(context, label) {
  const page = await context.newPage();
  page.dialogs = [];
  page.errors = [];
  page.offsite = [];
  page.on('dialog', async (d) => {
    page.dialogs.push(d.message());
    await d.dismiss();
  });
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith('http://127.0.0.1:') || u.startsWith('file:') || u.startsWith('data:')) {
      return route.continue();
    }
    // Images in the documents point to the vendors' CDNs; anything else
    // leaving the machine (a script, a font, the search index) is a failure.
    if (route.request().resourceType() !== 'image') page.offsite.push(u);
    return route.abort();
  });
  page.label = label;
  return page;
}

/** Types `query` into the search box and returns the hits shown for it. */
async function search(page, box, scope, query) {
  await page.fill(box, query);
  await page.waitForSelector(`${scope} .results[data-query="${query}"]`, { timeout: 10000 });
  return page.$$eval(`${scope} .hit`, (els) => els.map((e) => ({
    text: e.textContent,
    href: e.querySelector('a') && e.querySelector('a').getAttribute('href'),
  })));
}

async function hits(page, scope) {
  await page.waitForSelector(`${scope} .hit`, { timeout: 10000 });
  return page.$$eval(`${scope} .hit`, (els) => els.map((e) => ({
    text: e.textContent,
    href: e.querySelector('a') && e.querySelector('a').getAttribute('href'),
  })));
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-browser-'));
  const out = path.join(tmp, 'out');
  const xssOut = path.join(tmp, 'xss');
  build(path.join(repo, 'corpus'), out);
  build(path.join(repo, 'tests', 'e2e', 'fixtures', 'site-xss'), xssOut);
  const bigCorpus = path.join(tmp, 'big-corpus');
  const bigOut = path.join(tmp, 'big');
  execFileSync(kbBin, ['gen-corpus', '--docs', '120', '--out', bigCorpus], { stdio: 'inherit' });
  build(bigCorpus, bigOut);

  const server = await serve(out);
  const xssServer = await serve(xssOut);
  const bigServer = await serve(bigOut);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kb-chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  try {
    const base = server.base;

    // 1. The Chinese index, then a document, then its language switch.
    let page = await guardedPage(context, 'zh');
    await page.goto(`${base}zh/index.html`, { waitUntil: 'domcontentloaded' });
    check(await page.getAttribute('html', 'lang') === 'zh', 'zh index has lang="zh"');
    const docs = await page.$$eval('.doc-card h3 a', (as) => as.map((a) => a.textContent));
    check(docs.length === 3, `zh index lists 3 documents (${docs.join(', ')})`);
    await page.screenshot({ path: path.join(shots, 'zh-index.png'), fullPage: true });

    await page.click('.doc-card h3 a >> text=合作伙伴概述');
    await page.waitForLoadState('domcontentloaded');
    check(/zh\/docs\/blueking-partner-overview\.html$/.test(page.url()), 'the BlueKing document opens');
    check(await page.$$eval('td.spanned', (t) => t.length) > 0, 'its merged table cells are marked');
    await page.screenshot({ path: path.join(shots, 'zh-document.png'), fullPage: true });
    await page.click('#lang-switch');
    await page.waitForLoadState('domcontentloaded');
    check(await page.getAttribute('html', 'lang') === 'en', 'the language switch leads to an English page');
    check(/en\/docs\/blueking-partner-overview\.html$/.test(page.url()), `…the aligned counterpart (${page.url()})`);
    await page.screenshot({ path: path.join(shots, 'en-document.png'), fullPage: true });

    // A document with no counterpart says so.
    await page.goto(`${base}zh/docs/tencent-cloud-marketplace-provider-faq.html`, { waitUntil: 'domcontentloaded' });
    check(await page.isVisible('#lang-switch-none'), 'a page without a counterpart says so');
    check(await page.$$eval('.checklist .rule[data-subject="registered_capital"]', (r) => r.length) > 0,
      'requirements show their extracted rule');

    // 1b. The switch keeps the reader's place: from a #hash, from a scrolled
    //     position, to the section before when one has no counterpart, and
    //     on a FAQ page to the aligned question.
    const zhDoc = `${base}zh/docs/blueking-partner-overview.html`;
    const aligned = async (p) => p.$$eval('main h2[data-cp]', (hs) => hs.map((h) => [h.id, h.getAttribute('data-cp')]));
    const landed = async (p) => p.evaluate(() => {
      const el = location.hash && document.getElementById(location.hash.slice(1));
      return { hash: location.hash.slice(1), lang: document.documentElement.lang, top: el ? el.getBoundingClientRect().top : null };
    });
    await page.goto(zhDoc, { waitUntil: 'load' });
    const sections = await aligned(page);
    check(sections.length >= 3, `aligned sections carry their counterpart (${sections.length})`);
    const [hashId, hashCp] = sections[2];
    await page.goto(`${zhDoc}#${hashId}`, { waitUntil: 'load' });
    await page.click('#lang-switch');
    await page.waitForLoadState('load');
    let at = await landed(page);
    check(at.lang === 'en' && at.hash === hashCp && at.top !== null && Math.abs(at.top) < 5,
      `from #${hashId} the switch lands on the English section #${at.hash} (top ${at.top})`);
    // The way back: the English section's counterpart is the Chinese one.
    await page.click('#lang-switch');
    await page.waitForLoadState('load');
    at = await landed(page);
    check(at.lang === 'zh' && at.hash === hashId, `…and back to #${at.hash}`);

    // A #hash on a record (as a search hit links to): its section's counterpart.
    const recordId = await page.evaluate((h) => {
      let el = document.getElementById(h).nextElementSibling;
      for (; el && !/^H[1-6]$/.test(el.tagName); el = el.nextElementSibling) {
        const r = el.id ? el : el.querySelector('[id]');
        if (r) return r.id;
      }
      return null;
    }, hashId);
    check(recordId !== null, `a record follows #${hashId}`);
    await page.goto(`${zhDoc}#${recordId}`, { waitUntil: 'load' });
    await page.click('#lang-switch');
    await page.waitForLoadState('load');
    at = await landed(page);
    check(at.lang === 'en' && at.hash === hashCp, `from the record #${recordId} the switch lands on its section's counterpart #${at.hash}`);

    // Scrolled (no hash) to just below a section's heading.
    await page.goto(zhDoc, { waitUntil: 'load' });
    const [scrollId, scrollCp] = sections[1];
    await page.evaluate((id) => { document.getElementById(id).scrollIntoView(); window.scrollBy(0, 40); }, scrollId);
    await page.waitForFunction((cp) => document.getElementById('lang-switch').getAttribute('href').endsWith('#' + cp), scrollCp, { timeout: 5000 })
      .catch(() => {});
    check((await page.getAttribute('#lang-switch', 'href')).endsWith(`#${scrollCp}`),
      'after scrolling, the link itself points at the section (middle click, copy link)');
    check(await page.getAttribute('#lang-switch', 'lang') === 'en' && (await page.textContent('#lang-switch')).trim() === 'English',
      'the link keeps its text and lang');
    await page.click('#lang-switch');
    await page.waitForLoadState('load');
    at = await landed(page);
    check(at.lang === 'en' && at.hash === scrollCp && Math.abs(at.top) < 5, `a scrolled reader lands on #${at.hash}`);
    await page.screenshot({ path: path.join(shots, 'en-switch-landed.png'), fullPage: false });

    // A section without a counterpart: the nearest section before it that has one, else the top.
    await page.goto(`${base}zh/docs/tencent-cloud-partner-application.html`, { waitUntil: 'load' });
    const fallback = await page.evaluate(() => {
      const hs = Array.from(document.querySelectorAll('main h2[id], main h3[id], main h4[id]'));
      const i = hs.findIndex((h) => !h.hasAttribute('data-cp'));
      if (i < 0) return null;
      let want = null;
      for (let j = i; j >= 0 && want === null; j--) want = hs[j].getAttribute('data-cp');
      return { id: hs[i].id, want };
    });
    if (fallback) {
      await page.goto(`${base}zh/docs/tencent-cloud-partner-application.html#${fallback.id}`, { waitUntil: 'load' });
      await page.focus('#lang-switch');
      const href = await page.getAttribute('#lang-switch', 'href');
      const expect = fallback.want ? `#${fallback.want}` : '.html';
      check(href.endsWith(expect), `an unaligned section (#${fallback.id}) switches to ${expect} (${href})`);
    } else {
      check(false, 'the loosely paired application has a section without counterpart');
    }
    check(page.errors.length === 0, `no script errors while switching (${page.errors.join('; ')})`);

    // 2. Chinese search from the header box (live results, no network).
    await page.goto(`${base}zh/index.html`, { waitUntil: 'domcontentloaded' });
    const zh = await search(page, '#q', '#search-panel', '注册资本');
    check(zh.length > 0 && zh[0].text.includes('注册资本'), `Chinese search finds 注册资本 (first hit: ${zh[0] && zh[0].text.slice(0, 60)})`);
    check(zh.filter((h) => h.text.includes('注册资本')).length >= 3, 'several capital requirements are found');
    await page.screenshot({ path: path.join(shots, 'zh-search.png'), fullPage: false });
    await page.click('#search-panel .hit a');
    await page.waitForLoadState('domcontentloaded');
    const target = await page.evaluate(() => {
      const el = location.hash && document.getElementById(location.hash.slice(1));
      return el ? el.textContent : null;
    });
    check(target && target.includes('注册资本'), 'the first hit leads to the requirement itself');
    check(page.errors.length === 0, `no script errors (${page.errors.join('; ')})`);
    check(page.offsite.length === 0, `nothing but images is requested off the machine (${page.offsite.join(', ')})`);

    // 3. English search on the English index.
    const en = await guardedPage(context, 'en');
    await en.goto(`${base}en/index.html`, { waitUntil: 'domcontentloaded' });
    const enHits = await search(en, '#q', '#search-panel', 'Service FEE');
    check(enHits.length > 0 && /service fee/i.test(enHits[0].text), `English search finds "service fee" (first hit: ${enHits[0] && enHits[0].text.slice(0, 60)})`);
    const lic = await search(en, '#q', '#search-panel', 'business license');
    check(lic.some((h) => /business license/i.test(h.text)), 'English search finds "business license"');
    await en.screenshot({ path: path.join(shots, 'en-search.png'), fullPage: false });
    check(en.errors.length === 0, `no script errors on the English page (${en.errors.join('; ')})`);

    // 4. The search page from file://, with no server.
    const fileUrl = pathToFileURL(path.join(out, 'site', 'zh', 'search.html')).href + '?q=' + encodeURIComponent('认证工程师');
    const f = await guardedPage(context, 'file');
    await f.goto(fileUrl, { waitUntil: 'domcontentloaded' });
    const fh = await hits(f, '#search-page');
    check(fh.length > 0 && fh.some((h) => h.text.includes('认证')), `search works from file:// (${fh.length} hits)`);
    await f.screenshot({ path: path.join(shots, 'file-search.png'), fullPage: false });

    // 5. A phone: no sideways scrolling, tables become cards.
    const phone = await guardedPage(context, 'phone');
    await phone.setViewportSize({ width: 375, height: 740 });
    await phone.goto(`${base}zh/docs/blueking-partner-overview.html`, { waitUntil: 'domcontentloaded' });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
    await phone.screenshot({ path: path.join(shots, 'phone-document.png'), fullPage: true });
    await phone.goto(`${base}zh/faq.html`, { waitUntil: 'domcontentloaded' });
    await phone.screenshot({ path: path.join(shots, 'phone-faq.png'), fullPage: false });

    // Keyboard: the first Tab reaches the skip link.
    await phone.keyboard.press('Tab');
    check(await phone.evaluate(() => document.activeElement && document.activeElement.className) === 'skip-link',
      'the first Tab reaches the skip link');

    // 6. A large site: paginated FAQ, search from a nested page loading only
    //    the parts of the index it needs.
    const big = await guardedPage(context, 'big');
    const requested = [];
    big.on('request', (r) => { if (r.url().includes('/search/')) requested.push(r.url()); });
    await big.goto(`${bigServer.base}zh/faq.html`, { waitUntil: 'domcontentloaded' });
    const faqPages = await big.$$eval('.page-links a', (as) => as.map((a) => a.getAttribute('href')));
    check(faqPages.length >= 2, `the large FAQ is split into pages (${faqPages.length})`);
    await big.click('.page-links a');
    await big.waitForLoadState('domcontentloaded');
    check(await big.$$eval('.qa', (q) => q.length) > 0, 'a FAQ page holds questions');
    const question = await big.$eval('.qa[data-cp]', (q) => [q.id, q.getAttribute('data-cp')]).catch(() => null);
    check(question !== null, 'aligned questions carry their counterpart');
    if (question) {
      const faqUrl = big.url().split('#')[0];
      await big.goto(`${faqUrl}#${question[0]}`, { waitUntil: 'load' });
      await big.click('#lang-switch');
      await big.waitForLoadState('load');
      const q = await big.evaluate(() => ({
        lang: document.documentElement.lang,
        hash: location.hash.slice(1),
        page: location.pathname,
        question: location.hash ? document.getElementById(location.hash.slice(1)) !== null : false,
      }));
      const want = question[1].split('#').pop();
      check(q.lang === 'en' && q.hash === want && q.question, `a FAQ question switches to its English question (${q.page}#${q.hash})`);
      await big.goto(faqUrl, { waitUntil: 'load' });
    }
    const bigHits = await search(big, '#q', '#search-panel', '注册资本');
    check(bigHits.length > 0 && bigHits[0].text.includes('注册资本'), `search from a nested page (${bigHits.length} hits)`);
    const parts = requested.filter((u) => /\/search\/zh\//.test(u));
    check(parts.length > 0 && requested.every((u) => !/index\.en/.test(u)), `only the zh parts it needs are loaded (${parts.length})`);
    await big.screenshot({ path: path.join(shots, 'big-faq-page.png'), fullPage: false });
    check(big.errors.length === 0, `no script errors on the large site (${big.errors.join('; ')})`);

    // 7. Every page of the hostile corpus: no dialog, no error.
    const x = await guardedPage(context, 'xss');
    const xbase = xssServer.base;
    const pages = ['index.html', 'zh/index.html', 'en/index.html', 'zh/faq.html', 'en/faq.html', 'zh/search.html?q=alert', 'en/search.html?q=script',
      'zh/docs/xss.html', 'en/docs/xss.html'];
    for (const p of pages) {
      await x.goto(xbase + p, { waitUntil: 'load' });
      // Hover and click everything a payload could hang on.
      for (const el of await x.$$('main a, main img, main div, main p, main td, main b')) {
        await el.hover({ timeout: 1000 }).catch(() => {});
      }
      const hrefs = await x.$$eval('main a', (as) => as.map((a) => a.getAttribute('href')));
      for (let i = 0; i < hrefs.length; i++) {
        if (hrefs[i] && !/^https?:/i.test(hrefs[i])) {
          await x.locator('main a').nth(i).click({ timeout: 1000, noWaitAfter: true }).catch(() => {});
          // The click may have started a navigation of its own: let it
          // settle, so that going back does not race it ("interrupted by
          // another navigation").
          await x.waitForLoadState('load').catch(() => {});
          await x.goto(xbase + p, { waitUntil: 'load' }).catch(() => x.goto(xbase + p, { waitUntil: 'load' }));
        }
      }
    }
    await x.goto(xbase + 'zh/docs/xss.html', { waitUntil: 'load' });
    await x.fill('#q', '<img src=x onerror=alert(1)>');
    await x.waitForTimeout(400);
    await x.screenshot({ path: path.join(shots, 'xss-document.png'), fullPage: true });
    check(x.dialogs.length === 0, `no script from a document ran (dialogs: ${x.dialogs.join(', ')})`);
    check(x.errors.length === 0, `no script errors on the hostile pages (${x.errors.join('; ')})`);
  } finally {
    await context.close();
    server.proc.kill();
    xssServer.proc.kill();
    bigServer.proc.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(profile, { recursive: true, force: true });
  }
  console.log(`screenshots in ${shots}`);
  console.log(`${passes} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
