/* kb offline search. No network: the index is a script (search/index.<lang>.js)
 * that assigns window.KB_SEARCH[lang], so it loads from file:// as well as
 * from `kb serve`. The query is split exactly as kb split the index
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

  /** Ranks the index's entries for a query: entries holding more of the
   * query's terms first, then by tf-idf; with several terms, an entry must
   * hold at least half of them. */
  function search(index, query, limit) {
    var terms = queryTerms(query);
    var n = index.entries.length;
    var acc = new Map();
    terms.forEach(function (t) {
      if (!hasOwn.call(index.terms, t)) return;
      var postings = index.terms[t];
      var idf = Math.log(1 + n / postings.length);
      postings.forEach(function (p) {
        var s = acc.get(p[0]) || { score: 0, matched: 0 };
        s.score += idf * (1 + Math.log(p[1]));
        s.matched += 1;
        acc.set(p[0], s);
      });
    });
    var need = terms.length > 1 ? Math.ceil(terms.length / 2) : 1;
    var hits = [];
    acc.forEach(function (s, e) {
      if (s.matched >= need) hits.push({ entry: e, matched: s.matched, score: s.score });
    });
    hits.sort(function (a, b) {
      return (b.matched - a.matched) || (b.score - a.score) || (a.entry - b.entry);
    });
    return {
      terms: terms,
      total: hits.length,
      hits: hits.slice(0, limit || 20).map(function (h) {
        var e = index.entries[h.entry];
        return { url: e.url, title: e.title, doc: e.doc, kind: e.kind, snippet: e.snippet, matched: h.matched, score: h.score };
      })
    };
  }

  var api = { isHan: isHan, queryTerms: queryTerms, indexTerms: indexTerms, search: search };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  global.KBSearch = api;
  if (typeof document === 'undefined') return;

  // ---- In the page -------------------------------------------------------

  var body = document.body;
  var lang = body.getAttribute('data-lang');
  var root = body.getAttribute('data-root') || '';
  var indexUrl = body.getAttribute('data-search-index');
  var loading = null;

  function loadIndex() {
    if (global.KB_SEARCH && global.KB_SEARCH[lang]) return Promise.resolve(global.KB_SEARCH[lang]);
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = indexUrl;
      s.onload = function () {
        if (global.KB_SEARCH && global.KB_SEARCH[lang]) resolve(global.KB_SEARCH[lang]);
        else reject(new Error('search index did not load'));
      };
      s.onerror = function () { loading = null; reject(new Error('cannot load ' + indexUrl)); };
      document.head.appendChild(s);
    });
    return loading;
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

  function run(q) {
    if (!q.trim()) { clear(); return; }
    loadIndex().then(function (index) { show(search(index, q, 20), q); }, function (err) {
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
