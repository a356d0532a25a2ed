/* kb site script: offline search, and the language switch keeping the
 * reader's place (at the end). Search needs no network: the index is split into scripts that
 * assign globals, so they load from file:// as well as from `kb serve`:
 * search/index.<lang>.js (the manifest, window.KB_SEARCH[lang]) and, loaded
 * on demand, search/<lang>/<block>/t<shard>.js (the postings of the terms
 * whose FNV-1a hash modulo the block's shard count is <shard>) and
 * search/<lang>/<block>/e<chunk>.js (entries), both assigning
 * window.KB_SEARCH_PARTS["<lang>/<block>/…"] (layout: crates/publish/src/search.rs).
 * The query is split exactly as kb split the index
 * (crates/publish/src/tokenize.rs): Han runs → character bigrams (a lone
 * Han character → itself), other letters/digits → lower-cased words. */
(function (global) {
  'use strict';

  var WORD = /^[\p{Alphabetic}\p{Nd}\p{Nl}\p{No}]$/u;

  function isHan(cp) {
    return (cp >= 0x3400 && cp <= 0x4DBF) ||
      (cp >= 0x4E00 && cp <= 0x9FFF) ||
      (cp >= 0xF900 && cp <= 0xFAFF) ||
      (cp >= 0x20000 && cp <= 0x2A6DF) ||
      (cp >= 0x2A700 && cp <= 0x2EBEF) ||
      (cp >= 0x30000 && cp <= 0x3134F);
  }

  function runs(text, onHan, onWord) {
    var han = [];
    var word = '';
    for (var ch of String(text)) {
      var cp = ch.codePointAt(0);
      if (isHan(cp)) {
        if (word) { onWord(word); word = ''; }
        han.push(ch);
      } else if (WORD.test(ch)) {
        if (han.length) { onHan(han); han = []; }
        word += ch.toLowerCase();
      } else {
        if (han.length) { onHan(han); han = []; }
        if (word) { onWord(word); word = ''; }
      }
    }
    if (han.length) onHan(han);
    if (word) onWord(word);
  }

  function hanTerms(run, out) {
    if (run.length === 1) {
      out.push(run[0]);
    } else {
      for (var i = 0; i + 1 < run.length; i++) out.push(run[i] + run[i + 1]);
    }
  }

  /** The terms of a query, in order, without repeats. */
  function queryTerms(text) {
    var out = [];
    runs(text, function (h) { hanTerms(h, out); }, function (w) { out.push(w); });
    var seen = Object.create(null);
    return out.filter(function (t) { if (seen[t]) return false; seen[t] = true; return true; });
  }

  /** The terms of indexed text (with repeats), as kb indexes it. */
  function indexTerms(text) {
    var out = [];
    runs(text, function (h) {
      hanTerms(h, out);
      if (h.length > 1) for (var i = 0; i < h.length; i++) out.push(h[i]);
    }, function (w) { out.push(w); });
    return out;
  }

  var hasOwn = Object.prototype.hasOwnProperty;

  /** FNV-1a (32 bits) over the code points of a term (as kb's term_shard). */
  function fnv(term) {
    var h = 0x811c9dc5;
    for (var ch of term) h = Math.imul(h ^ ch.codePointAt(0), 0x01000193) >>> 0;
    return h;
  }

  /** The term-shard parts holding `terms`, one per block and shard. */
  function termParts(manifest, terms) {
    var names = [];
    manifest.blocks.forEach(function (b, i) {
      var seen = Object.create(null);
      terms.forEach(function (t) {
        var s = fnv(t) % b.shards;
        if (!seen[s]) { seen[s] = true; names.push(manifest.lang + '/' + i + '/t' + s); }
      });
    });
    return names;
  }

  /** [[entry, tf], …] from a gap-coded posting list. */
  function decode(list) {
    var out = [];
    var e = 0;
    for (var i = 0; i < list.length;) {
      var v = list[i++];
      e += Math.floor(v / 2);
      out.push([e, v % 2 ? list[i++] : 1]);
    }
    return out;
  }

  /** Ranks the entries for a query's terms with the term parts loaded in
   * `parts`: entries holding more of the terms first, then by tf-idf; with
   * several terms, an entry must hold at least half of them. */
  function rank(manifest, parts, terms) {
    var n = manifest.entries;
    var offsets = [];
    var total = 0;
    manifest.blocks.forEach(function (b) { offsets.push(total); total += b.entries; });
    var acc = new Map();
    terms.forEach(function (t) {
      var lists = [];
      var df = 0;
      manifest.blocks.forEach(function (b, i) {
        var part = parts[manifest.lang + '/' + i + '/t' + (fnv(t) % b.shards)];
        if (!part || !hasOwn.call(part, t)) return;
        var ps = decode(part[t]);
        df += ps.length;
        lists.push([i, ps]);
      });
      if (!df) return;
      var idf = Math.log(1 + n / df);
      lists.forEach(function (l) {
        l[1].forEach(function (p) {
          var id = offsets[l[0]] + p[0];
          var s = acc.get(id) || { block: l[0], entry: p[0], score: 0, matched: 0 };
          s.score += idf * (1 + Math.log(p[1]));
          s.matched += 1;
          acc.set(id, s);
        });
      });
    });
    var need = terms.length > 1 ? Math.ceil(terms.length / 2) : 1;
    var hits = [];
    acc.forEach(function (s, id) {
      if (s.matched >= need) hits.push({ id: id, block: s.block, entry: s.entry, matched: s.matched, score: s.score });
    });
    hits.sort(function (a, b) {
      return (b.matched - a.matched) || (b.score - a.score) || (a.id - b.id);
    });
    return hits;
  }

  /** The entry-chunk parts holding `hits`. */
  function chunkParts(manifest, hits) {
    var names = [];
    hits.forEach(function (h) {
      var name = manifest.lang + '/' + h.block + '/e' + Math.floor(h.entry / manifest.chunk);
      if (names.indexOf(name) === -1) names.push(name);
    });
    return names;
  }

  function resolve(manifest, parts, h) {
    var chunk = parts[manifest.lang + '/' + h.block + '/e' + Math.floor(h.entry / manifest.chunk)];
    var e = chunk.e[h.entry % manifest.chunk];
    var d = chunk.d[e[0]];
    return { url: d[0] + '#' + e[1], title: e[2], doc: d[1], kind: e[3], snippet: e[4], matched: h.matched, score: h.score };
  }

  /** Searches a language's index: `load(names)` loads part files and
   * resolves with the object holding them (window.KB_SEARCH_PARTS). Resolves
   * with { terms, total, hits: [{ url, title, doc, kind, snippet, matched, score }] }. */
  function search(manifest, query, limit, load) {
    var terms = queryTerms(query);
    return load(termParts(manifest, terms)).then(function (parts) {
      var hits = rank(manifest, parts, terms);
      var top = hits.slice(0, limit || 20);
      return load(chunkParts(manifest, top)).then(function (parts2) {
        return { terms: terms, total: hits.length, hits: top.map(function (h) { return resolve(manifest, parts2, h); }) };
      });
    });
  }

  var api = { isHan: isHan, queryTerms: queryTerms, indexTerms: indexTerms, fnv: fnv, termParts: termParts, search: search };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  global.KBSearch = api;
  if (typeof document === 'undefined') return;

  // ---- In the page -------------------------------------------------------

  var body = document.body;
  var lang = body.getAttribute('data-lang');
  var root = body.getAttribute('data-root') || '';
  var indexUrl = body.getAttribute('data-search-index');
  var loading = null;
  var pending = Object.create(null);

  function loadScript(src, ready) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = function () {
        if (ready()) resolve();
        else reject(new Error('search index did not load: ' + src));
      };
      s.onerror = function () { reject(new Error('cannot load ' + src)); };
      document.head.appendChild(s);
    });
  }

  function loadIndex() {
    if (global.KB_SEARCH && global.KB_SEARCH[lang]) return Promise.resolve(global.KB_SEARCH[lang]);
    if (loading) return loading;
    loading = loadScript(indexUrl, function () { return global.KB_SEARCH && global.KB_SEARCH[lang]; })
      .then(function () { return global.KB_SEARCH[lang]; }, function (e) { loading = null; throw e; });
    return loading;
  }

  /** Loads the part files not loaded yet, all at once. */
  function loadParts(names) {
    var parts = function () { return global.KB_SEARCH_PARTS || {}; };
    return Promise.all(names.map(function (name) {
      if (hasOwn.call(parts(), name)) return null;
      if (!pending[name]) {
        pending[name] = loadScript(root + 'search/' + name + '.js', function () { return hasOwn.call(parts(), name); })
          .catch(function (e) { delete pending[name]; throw e; });
      }
      return pending[name];
    })).then(parts);
  }

  /** Appends `text` to `el`, wrapping occurrences of the terms in <mark>. */
  function highlight(el, text, terms) {
    var lower = text.toLowerCase();
    var marks = [];
    if (lower.length === text.length) {
      terms.forEach(function (t) {
        var from = 0;
        var i;
        while (t && (i = lower.indexOf(t, from)) !== -1) { marks.push([i, i + t.length]); from = i + t.length; }
      });
    }
    marks.sort(function (a, b) { return a[0] - b[0]; });
    var pos = 0;
    marks.forEach(function (m) {
      if (m[1] <= pos) return;
      var start = Math.max(m[0], pos);
      if (start > pos) el.appendChild(document.createTextNode(text.slice(pos, start)));
      var mark = document.createElement('mark');
      mark.textContent = text.slice(start, m[1]);
      el.appendChild(mark);
      pos = m[1];
    });
    if (pos < text.length) el.appendChild(document.createTextNode(text.slice(pos)));
  }

  function safeUrl(u) {
    return /^[a-z][a-z0-9+.-]*:/i.test(u) || u.indexOf('//') === 0 ? null : root + u;
  }

  function target() {
    var page = document.getElementById('search-page');
    if (page) return { box: page, panel: null };
    var panel = document.getElementById('search-panel');
    return { box: panel, panel: panel };
  }

  function show(result, q) {
    var t = target();
    if (!t.box) return;
    var status = t.box.querySelector('.search-status');
    var list = t.box.querySelector('.results');
    list.textContent = '';
    list.setAttribute('data-query', q);
    if (t.panel) t.panel.hidden = false;
    if (!result.total) {
      status.textContent = body.getAttribute('data-t-no-results');
      return;
    }
    status.textContent = result.total + ' ' + body.getAttribute('data-t-results');
    result.hits.forEach(function (h) {
      var li = document.createElement('li');
      li.className = 'hit';
      li.setAttribute('data-kind', h.kind);
      var a = document.createElement('a');
      a.className = 'hit-title';
      var href = safeUrl(h.url);
      if (href) a.href = href;
      highlight(a, h.title, result.terms);
      li.appendChild(a);
      var d = document.createElement('span');
      d.className = 'hit-doc';
      d.textContent = ' — ' + h.doc;
      li.appendChild(d);
      var p = document.createElement('p');
      p.className = 'hit-snippet';
      highlight(p, h.snippet, result.terms);
      li.appendChild(p);
      list.appendChild(li);
    });
  }

  function clear() {
    var t = target();
    if (t.panel) t.panel.hidden = true;
    if (t.box) {
      t.box.querySelector('.results').textContent = '';
      t.box.querySelector('.search-status').textContent = '';
    }
  }

  var latest = null;

  function run(q) {
    latest = q;
    if (!q.trim()) { clear(); return; }
    loadIndex().then(function (index) { return search(index, q, 20, loadParts); }).then(function (r) {
      if (r && latest === q) show(r, q);
    }, function (err) {
      var t = target();
      if (t.panel) t.panel.hidden = false;
      if (t.box) t.box.querySelector('.search-status').textContent = String(err.message || err);
    });
  }

  var inputs = Array.prototype.slice.call(document.querySelectorAll('input[name="q"]'));
  var timer = null;
  inputs.forEach(function (input) {
    input.addEventListener('input', function () {
      var v = input.value;
      inputs.forEach(function (other) { if (other !== input) other.value = v; });
      clearTimeout(timer);
      timer = setTimeout(function () { run(v); }, 120);
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Escape') { input.value = ''; clear(); }
    });
  });
  if (document.getElementById('search-page')) {
    Array.prototype.forEach.call(document.querySelectorAll('form[role="search"]'), function (f) {
      f.addEventListener('submit', function (e) {
        e.preventDefault();
        var v = f.querySelector('input[name="q"]').value;
        try { history.replaceState(null, '', '?q=' + encodeURIComponent(v)); } catch (err) { /* file:// may refuse */ }
        run(v);
      });
    });
    var q = new URLSearchParams(location.search).get('q') || '';
    inputs.forEach(function (i) { i.value = q; });
    if (q) run(q);
  }
})(typeof window !== 'undefined' ? window : globalThis);

/* The language switch keeps the reader's place. A heading (FAQ group,
 * question) aligned with one on the page the switch goes to carries that
 * element's id as `data-cp` (or, on a FAQ page, a site-relative `page#id`
 * when the aligned question is on another page); crates/publish/src/
 * counterparts.rs makes them. The reader's place is the element of the
 * URL's #hash when they went there (a record: its section), else the last
 * heading (FAQ group or question) whose top is
 * above the top of the window where they stayed for a moment: 0.6 s, or
 * 5 s while the switch itself is on screen, so that scrolling up to the
 * switch (it sits at the top of the page) does not lose the place. From
 * there the switch goes to the first counterpart found in: that element,
 * the element enclosing it (a question's FAQ group), the nearest preceding
 * heading that has one (not leaving a FAQ group); else to the top of the
 * page, as without script. Scrolling costs a binary search over the
 * headings' positions once per animation frame; the href is set as the
 * place changes (so a middle click or "copy link" takes it too) and again
 * when the link is focused, pressed or opened by a context menu. The
 * link's text and lang stay as they are. */
(function () {
  'use strict';
  if (typeof document === 'undefined') return;
  var link = document.getElementById('lang-switch');
  var main = document.getElementById('main');
  if (!link || !main || document.getElementById('lang-switch-none') || !main.querySelector('[data-cp]')) return;
  var base = (link.getAttribute('href') || '').split('#')[0];
  var root = document.body.getAttribute('data-root') || '';
  var marks = Array.prototype.slice.call(
    main.querySelectorAll('h1[id], h2[id], h3[id], h4[id], h5[id], h6[id], .faq-group[id], .qa[id]'));

  function cpOf(el) {
    var c = el.closest('[data-cp]');
    return c && main.contains(c) ? c.getAttribute('data-cp') : null;
  }

  /** The index of the last mark at or before `el` in document order, or -1. */
  function markBefore(el) {
    var lo = 0, hi = marks.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      var m = marks[mid];
      if (m === el || (m.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING)) {
        found = mid; lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** The counterpart of where `el` is: its own, its group's, a preceding heading's. */
  function counterpart(el) {
    var v = cpOf(el);
    if (v) return v;
    var group = el.closest('.faq-group');
    for (var i = markBefore(el); i >= 0; i--) {
      if (group && !group.contains(marks[i])) break;
      v = cpOf(marks[i]);
      if (v) return v;
    }
    return null;
  }

  function hashElement() {
    if (location.hash.length < 2) return null;
    var id;
    try { id = decodeURIComponent(location.hash.slice(1)); } catch (e) { return null; }
    var el = document.getElementById(id);
    return el && main.contains(el) ? el : null;
  }

  function onScreen(el) {
    var r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight;
  }

  /** The last mark whose top is above the top of the window (8px of slack). */
  function markAtTop() {
    var lo = 0, hi = marks.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (marks[mid].getBoundingClientRect().top <= 8) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found < 0 ? null : marks[found];
  }

  var place = null;
  var placeIsHash = false;
  var timer = 0;

  function apply() {
    var v = place && counterpart(place);
    var href = !v ? base : v.indexOf('#') >= 0 ? root + v : base + '#' + v;
    if (link.getAttribute('href') !== href) link.setAttribute('href', href);
  }

  function settle(el, isHash) {
    clearTimeout(timer);
    place = el;
    placeIsHash = isHash;
    apply();
  }

  function scrolled() {
    clearTimeout(timer);
    // Reading on around the element of the #hash keeps it as the place.
    if (placeIsHash && place && onScreen(place)) return;
    var at = markAtTop();
    if (at === place) return;
    timer = setTimeout(function () { settle(at, false); }, onScreen(link) ? 5000 : 600);
  }

  function start() {
    var h = hashElement();
    settle(h || markAtTop(), !!h);
  }

  var pending = false;
  window.addEventListener('scroll', function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; scrolled(); });
  }, { passive: true });
  window.addEventListener('hashchange', function () {
    var h = hashElement();
    if (h) settle(h, true);
  });
  window.addEventListener('pageshow', function (e) { if (e.persisted) start(); });
  ['focus', 'mouseenter', 'pointerdown', 'click', 'contextmenu'].forEach(function (t) {
    link.addEventListener(t, apply);
  });
  start();
})();
