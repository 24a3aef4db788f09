// The service worker: the app shell and the farmer's own pages (farms, plots, log forms, the product
// list) stay on the phone, so the log form opens without a connection. Pages come from the network
// while there is one (and refresh the copy kept), and from the copy when there is none. Posts are never
// touched here: the page's own queue (offline.js) keeps entries made offline.
'use strict';
// The shell's version, written in by the server (web/pwa.py): a digest of app.css, app.js and offline.js, which
// pages link with ?v=VERSION. A new release changes this file, so phones install the new worker and shell.
var VERSION = 'dev';
var SHELL = 'shell-' + VERSION;
var PAGES = 'pages-v1';  // the farmer's pages outlive a release: each is refreshed when next seen online
var SHELL_URLS = ['/static/app.css?v=' + VERSION, '/static/app.js?v=' + VERSION, '/static/offline.js?v=' + VERSION,
  '/static/manifest.webmanifest', '/static/icons/icon-192.png'];
var PAGE = /^\/(dashboard|logs\/|farms\/\d+|plots\/\d+|plots\/\d+\/logs\/new|api\/v1\/input-products)$/;
var MAX_WARM = 150;

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(SHELL_URLS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) { return key !== SHELL && key !== PAGES; })
      .map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function keepable(response) {
  return response.ok && response.type === 'basic' && !response.redirected;
}

function keep(cacheName, request, response) {
  if (keepable(response)) {
    var copy = response.clone();
    caches.open(cacheName).then(function (cache) { return cache.put(request, copy); });
  }
  return response;
}

// No connection and no copy: a page goes to the kept home page (its queue and links still work);
// anything else fails plainly.
function unreachable(request) {
  var none = new Response('offline', {status: 503, headers: {'Content-Type': 'text/plain; charset=utf-8'}});
  if (request.mode !== 'navigate') return none;
  return caches.match('/dashboard').then(function (home) { return home || none; });
}

self.addEventListener('fetch', function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.indexOf('/static/') === 0) {
    // The shell: the kept copy at once, refreshed behind it. Offline, a page kept before a release asks for
    // its own version of a script: the one this release keeps stands in for it.
    event.respondWith(caches.match(request).then(function (hit) {
      var fresh = fetch(request).then(function (response) { return keep(SHELL, request, response); });
      if (hit) return hit;
      return fresh.catch(function (err) {
        return caches.match(request, {ignoreSearch: true, cacheName: SHELL}).then(function (any) {
          if (any) return any;
          throw err;
        });
      });
    }));
  } else if (PAGE.test(url.pathname)) {
    event.respondWith(fetch(request).then(function (response) {
      return keep(PAGES, request, response);
    }).catch(function () {
      return caches.match(request).then(function (hit) { return hit || unreachable(request); });
    }));
  } else if (request.mode === 'navigate') {
    event.respondWith(fetch(request).catch(function () { return unreachable(request); }));
  }
});

// Fetch the farmer's pages a page links to (and what they link to, a few levels down) so that they open
// offline later; pages kept already are only read for their links.
function links(html) {
  var found = [];
  var pattern = /href="(\/(?:dashboard|farms\/\d+|plots\/\d+[^"]*))"/g;
  var match;
  while ((match = pattern.exec(html)) !== null) found.push(match[1].replace(/&amp;/g, '&'));
  return found;
}

function warm(urls, depth, seen) {
  var todo = urls.filter(function (href) {
    var url = new URL(href, self.location.origin);
    var key = url.pathname + url.search;
    if (url.origin !== self.location.origin || !PAGE.test(url.pathname) || seen.has(key) || seen.size >= MAX_WARM) {
      return false;
    }
    seen.add(key);
    return true;
  });
  return caches.open(PAGES).then(function (cache) {
    return Promise.all(todo.map(function (href) {
      return cache.match(href).then(function (hit) {
        if (hit) return hit.text();
        return fetch(href, {credentials: 'same-origin'}).then(function (response) {
          if (!keepable(response)) return '';
          return cache.put(href, response.clone()).then(function () { return response.text(); });
        });
      }).then(function (html) {
        return depth > 0 ? warm(links(html), depth - 1, seen) : null;
      }).catch(function () { return null; });
    }));
  });
}

self.addEventListener('message', function (event) {
  var data = event.data || {};
  if (data.type === 'warm') {
    event.waitUntil(warm(data.urls || [], 3, new Set()));
  } else if (data.type === 'forget') {
    // Signed out: no one else on this phone reads the farmer's pages.
    event.waitUntil(caches.delete(PAGES));
  }
});
