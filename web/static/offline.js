// Field entry without a connection. The service worker (/sw.js) keeps the app shell and the farmer's own
// pages; here the log form keeps every entry in an IndexedDB queue first (with a UUID, the idempotency key
// the server stores it under, and the time it was made) and sends it: at once when it can, else when the
// connection returns (the online event, each page load, every 20 s). The page shows what waits and what
// the server refused and why; a refused entry is fixed or dropped by the farmer, never lost silently.
// Photos are shrunk here, on the phone, before they are kept with the entry (at most 1600 px on the long
// side, a JPEG drawn again on a canvas, so without any of the camera's EXIF); where a photo was taken is
// sent only if the farmer ticks the box, read from the original's EXIF GPS. An entry with photos is sent
// to the JSON API as multipart (the log as JSON, the photos as parts), also when online.
(function () {
  'use strict';
  var user = document.body.getAttribute('data-user');
  var panel = document.getElementById('offline-queue');

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (!registration.active) return;
      if (!user) {
        registration.active.postMessage({type: 'forget'});
        return;
      }
      var urls = ['/dashboard', '/api/v1/input-products', location.pathname + location.search];
      document.querySelectorAll('a[href^="/farms/"], a[href^="/plots/"]').forEach(function (a) {
        urls.push(a.getAttribute('href'));
      });
      registration.active.postMessage({type: 'warm', urls: urls});
    }).catch(function () { /* no service worker (plain http on a LAN address): pages need the network */ });
  }
  if (!user || !panel || !window.indexedDB) return;

  var text = function (name, n) { return (panel.getAttribute('data-' + name) || '').replace('{n}', n); };

  // ------------------------------------------------------------ the queue in IndexedDB
  var opened = null;
  function database() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var request = indexedDB.open('gannong-offline', 1);
        request.onupgradeneeded = function () { request.result.createObjectStore('entries', {keyPath: 'client_id'}); };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return opened;
  }
  function transact(mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction('entries', mode);
        var request = work(tx.objectStore('entries'));
        tx.oncomplete = function () { resolve(request ? request.result : undefined); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function entries() {
    return transact('readonly', function (store) { return store.getAll(); }).then(function (all) {
      return (all || []).filter(function (e) { return e.user === user; })
        .sort(function (a, b) { return a.recorded_at < b.recorded_at ? -1 : 1; });
    });
  }
  function getEntry(id) { return transact('readonly', function (store) { return store.get(id); }); }
  function put(entry) { return transact('readwrite', function (store) { store.put(entry); }); }
  function drop(id) { return transact('readwrite', function (store) { store.delete(id); }); }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  }
  function token() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  }

  // ------------------------------------------------------------ photos
  var MAX_SIDE = 1600;

  // Where the camera says a JPEG was taken: the GPS IFD of its EXIF (APP1 "Exif\0\0", then TIFF), or null.
  function gpsOf(buffer) {
    try {
      var view = new DataView(buffer);
      if (view.getUint16(0) !== 0xFFD8) return null;
      var pos = 2;
      while (pos + 10 <= view.byteLength && view.getUint8(pos) === 0xFF) {
        var marker = view.getUint8(pos + 1);
        if (marker === 0xDA || marker === 0xD9) return null;
        var length = view.getUint16(pos + 2);
        if (marker === 0xE1 && view.getUint32(pos + 4) === 0x45786966 && view.getUint16(pos + 8) === 0) {
          return gpsInTiff(view, pos + 10);
        }
        pos += 2 + length;
      }
    } catch (err) { /* a short or broken file: no location */ }
    return null;
  }
  function gpsInTiff(view, tiff) {
    var little = view.getUint16(tiff) === 0x4949;
    var u16 = function (at) { return view.getUint16(tiff + at, little); };
    var u32 = function (at) { return view.getUint32(tiff + at, little); };
    if (u16(2) !== 42) return null;
    var ifd = u32(4), gps = null, i, entry;
    for (i = 0; i < u16(ifd); i++) {
      entry = ifd + 2 + i * 12;
      if (u16(entry) === 0x8825) gps = u32(entry + 8);
    }
    if (gps === null) return null;
    var tags = {};
    for (i = 0; i < u16(gps); i++) {
      entry = gps + 2 + i * 12;
      var tag = u16(entry), type = u16(entry + 2), count = u32(entry + 4);
      if ((tag === 1 || tag === 3) && type === 2) tags[tag] = String.fromCharCode(view.getUint8(tiff + entry + 8));
      if ((tag === 2 || tag === 4) && type === 5 && count === 3) {
        var at = u32(entry + 8);
        tags[tag] = [0, 1, 2].map(function (k) { return u32(at + 8 * k) / u32(at + 8 * k + 4); });
      }
    }
    if (!tags[2] || !tags[4]) return null;
    var degrees = function (p) { return p[0] + p[1] / 60 + p[2] / 3600; };
    var latitude = degrees(tags[2]) * (tags[1] === 'S' ? -1 : 1);
    var longitude = degrees(tags[4]) * (tags[3] === 'W' ? -1 : 1);
    if (!isFinite(latitude) || !isFinite(longitude) || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return null;
    return {latitude: Math.round(latitude * 1e7) / 1e7, longitude: Math.round(longitude * 1e7) / 1e7};
  }

  // The photo drawn again, turned upright, at most MAX_SIDE px on its long side: a JPEG with no metadata.
  async function shrink(file) {
    var bitmap = await createImageBitmap(file, {imageOrientation: 'from-image'});
    var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    var canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    if (bitmap.close) bitmap.close();
    var blob = await new Promise(function (resolve) { canvas.toBlob(resolve, 'image/jpeg', 0.85); });
    if (!blob) throw new Error('not encoded');
    var location = gpsOf(await file.slice(0, 256 * 1024).arrayBuffer());
    return {blob: blob, width: canvas.width, height: canvas.height, location: location};
  }

  var urls = {panel: [], form: []};  // object URLs of the thumbnails shown, freed when redrawn
  function thumbs(photos, where) {
    where = where || 'panel';
    return el('span', {'class': 'thumbs'}, photos.map(function (photo) {
      var url = URL.createObjectURL(photo.blob);
      urls[where].push(url);
      return el('img', {src: url, alt: '', width: 40, height: 40});
    }));
  }

  // ------------------------------------------------------------ sending
  var note = '';
  var sentNow = 0;
  var running = null;

  function bodyOf(entry) {
    var body = Object.assign({}, entry.fields, {client_id: entry.client_id, recorded_at: entry.recorded_at});
    if (entry.confirm) body.confirm_safe_interval = true;
    return body;
  }

  function requestOf(entry) {
    // The page's language, so that a refusal reads as the page does (the API follows Accept-Language).
    var headers = {'X-CSRFToken': token(), 'Accept-Language': document.documentElement.lang || 'zh'};
    var photos = entry.photos || [];
    if (!photos.length) {
      headers['Content-Type'] = 'application/json';
      return {headers: headers, body: JSON.stringify(bodyOf(entry))};
    }
    var body = bodyOf(entry);
    body.keep_photo_location = !!entry.keep_location;
    if (entry.keep_location) body.photo_locations = photos.map(function (p) { return p.location || null; });
    var form = new FormData();
    form.append('log', JSON.stringify(body));
    photos.forEach(function (p, i) { form.append('photo', p.blob, 'photo-' + (i + 1) + '.jpg'); });
    return {headers: headers, body: form};  // the browser writes the multipart Content-Type
  }

  async function sendAll() {
    var waiting = (await entries()).filter(function (e) { return e.state === 'waiting'; });
    for (var i = 0; i < waiting.length; i++) {
      var entry = waiting[i];
      var response;
      try {
        var sent = requestOf(entry);
        response = await fetch('/api/v1/farms/' + entry.farm + '/logs', {
          method: 'POST', credentials: 'same-origin', headers: sent.headers, body: sent.body});
      } catch (err) {
        note = text('offline');  // the connection is gone (or went in the middle): the rest waits
        return;
      }
      var answer = await response.json().catch(function () { return {}; });
      var error = answer.error || {};
      if (response.status === 200 || response.status === 201) {
        await drop(entry.client_id);  // 200: it had arrived before, its answer was lost
        sentNow += 1;
      } else if ([403, 404, 409, 422].indexOf(response.status) >= 0 ||
                 (response.status === 400 && error.code !== 'csrf_failed')) {
        entry.state = 'refused';
        entry.error = {message: error.message || String(response.status), fields: error.fields || {}};
        await put(entry);
      } else {
        note = text(response.status === 401 ? 'signin' : 'later');
        return;
      }
    }
    note = '';
  }

  function sync() {
    if (!running) {
      running = sendAll().catch(function () { note = text('later'); }).then(function () {
        running = null;
        return render();
      });
    }
    return running;
  }

  // ------------------------------------------------------------ the panel
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key]; else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }
  var offset = Number(panel.getAttribute('data-utc-offset') || 0);
  function local(ms) { return new Date(ms + offset * 60000).toISOString(); }  // in the app's zone
  function when(iso) { return local(new Date(iso).getTime()).slice(0, 16).replace('T', ' '); }
  function describe(entry) {
    var photos = (entry.photos || []).length;
    return entry.label + (entry.fields.notes ? ' · ' + entry.fields.notes.slice(0, 30) : '') +
      (photos ? ' · ' + text('photos', photos) : '');
  }

  async function render() {
    var all = await entries();
    urls.panel.forEach(function (url) { URL.revokeObjectURL(url); });
    urls.panel = [];
    var waiting = all.filter(function (e) { return e.state === 'waiting'; });
    var refused = all.filter(function (e) { return e.state === 'refused'; });
    panel.textContent = '';
    if (sentNow) panel.appendChild(el('p', {'class': 'flash info', role: 'status', text: text('sent', sentNow)}));
    panel.hidden = !all.length && !sentNow;
    if (!all.length) return;
    if (waiting.length) {
      var head = el('p', {'class': 'waiting', 'data-count': waiting.length}, [
        el('strong', {text: text('waiting', waiting.length)})]);
      if (note) head.appendChild(el('span', {'class': 'muted', text: ' ' + note}));
      panel.appendChild(head);
      panel.appendChild(el('ul', {'class': 'plain queue'}, waiting.map(function (e) {
        var parts = [el('span', {'class': 'when', text: when(e.recorded_at)}), el('span', {text: describe(e)})];
        if (e.photos && e.photos.length) parts.push(thumbs(e.photos));
        return el('li', {'class': e.photos && e.photos.length ? 'with-photos' : ''}, parts);
      })));
      var send = el('button', {type: 'button', 'class': 'button', text: text('send')});
      send.addEventListener('click', sync);
      panel.appendChild(send);
    }
    if (refused.length) {
      panel.appendChild(el('p', {'class': 'refused-head', text: text('refused', refused.length)}));
      panel.appendChild(el('ul', {'class': 'plain queue refused'}, refused.map(function (e) {
        var reasons = [e.error.message].concat(Object.keys(e.error.fields).map(function (k) { return e.error.fields[k]; }));
        var fix = el('a', {'class': 'button', href: e.page + '#fix=' + e.client_id, text: text('fix')});
        var remove = el('button', {type: 'button', 'class': 'button danger', text: text('drop')});
        remove.addEventListener('click', function () {
          if (window.confirm(text('drop-confirm'))) drop(e.client_id).then(render);
        });
        return el('li', {'data-client-id': e.client_id}, [
          el('span', {'class': 'when', text: when(e.recorded_at)}), el('strong', {text: describe(e)}),
          e.photos && e.photos.length ? thumbs(e.photos) : el('span'),
          el('small', {'class': 'error', text: reasons.join(' ')}), el('span', {'class': 'actions'}, [fix, remove])]);
      })));
    }
  }

  // ------------------------------------------------------------ the log form
  var form = document.getElementById('log-form');
  if (form && !form.hasAttribute('data-farm')) form = null;  // a correction: online only
  var busy = false;

  function localNow() { return local(Date.now()).slice(0, 16); }
  function fieldsOf() {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (['csrf_token', 'submit', 'client_id', 'recorded_at', 'confirm_safe_interval', 'photos',
           'keep_location'].indexOf(name) >= 0 || value === '' || typeof value !== 'string') return;
      if (name === 'plots') (out.plots = out.plots || []).push(Number(value)); else out[name] = value;
    });
    return out;
  }
  function saved(message) {
    var old = document.getElementById('offline-saved');
    if (old) old.remove();
    form.parentNode.insertBefore(el('p', {id: 'offline-saved', 'class': 'flash info', role: 'status', text: message}), form);
  }
  function hidden(name, value) {
    var input = form.querySelector('input[name="' + name + '"]') || form.appendChild(el('input', {type: 'hidden', name: name}));
    input.value = value;
  }

  async function fillForFix(id) {
    var entry = await getEntry(id);
    if (!entry || entry.user !== user) return;
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || !(input.name in entry.fields) && input.type !== 'select-multiple') return;
      if (input.type === 'select-multiple') {
        var chosen = (entry.fields[input.name] || []).map(String);
        Array.prototype.forEach.call(input.options, function (o) { o.selected = chosen.indexOf(o.value) >= 0; });
      } else if (input.type !== 'hidden' && input.type !== 'submit') {
        input.value = entry.fields[input.name];
      }
    });
    if (!entry.fields.notes && form.notes) form.notes.value = '';
    if (form.keep_location) form.keep_location.checked = !!entry.keep_location;
    showPhotos(entry.photos || [], entry.photos && entry.photos.length ? text('photos-kept') : '');
    form.setAttribute('data-fixing', id);
    var details = form.querySelector('details');
    if (details) details.open = true;
    if (entry.error) saved(entry.error.message);
    if (entry.error && entry.error.fields.confirm_safe_interval && !form.querySelector('[name=confirm_safe_interval]')) {
      var box = el('input', {type: 'checkbox', name: 'confirm_safe_interval', value: 'y'});
      form.querySelector('[type=submit]').before(el('label', {'class': 'confirm'}, [box, document.createTextNode(' ' + text('confirm-phi'))]));
    }
  }

  // The photos chosen in the form, shrunk as soon as they are chosen (and shown small under the field).
  var chosen = null;
  var shrinking = Promise.resolve();
  var fileInput = form && form.querySelector('input[type=file][name=photos]');
  var preview = form && document.getElementById('photo-preview');

  function showPhotos(photos, message) {
    if (!preview) return;
    preview.textContent = '';
    urls.form.forEach(function (url) { URL.revokeObjectURL(url); });
    urls.form = [];
    preview.hidden = !photos.length && !message;
    if (photos.length) preview.appendChild(thumbs(photos, 'form'));
    if (message) preview.appendChild(el('small', {'class': 'hint', text: message}));
  }

  function choosePhotos() {
    var files = Array.prototype.slice.call(fileInput.files || []);
    if (!files.length) { chosen = null; showPhotos([]); return shrinking; }
    shrinking = Promise.all(files.map(function (file) {
      return shrink(file).catch(function () { return null; });
    })).then(function (photos) {
      chosen = photos.filter(Boolean);
      showPhotos(chosen, chosen.length < files.length ? text('photo-bad') : '');
    });
    return shrinking;
  }

  if (form) {
    if (fileInput) fileInput.addEventListener('change', choosePhotos);
    if (form.hasAttribute('data-fresh') && form.timestamp) form.timestamp.value = localNow();
    var fix = /^#fix=([0-9a-f-]{36})$/.exec(location.hash);
    if (fix) fillForFix(fix[1]);
    window.addEventListener('hashchange', function () {
      var again = /^#fix=([0-9a-f-]{36})$/.exec(location.hash);
      if (again) fillForFix(again[1]);
    });

    form.addEventListener('submit', async function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      var fixing = form.getAttribute('data-fixing');
      var entry = (fixing && await getEntry(fixing)) || {
        client_id: uuid(), recorded_at: new Date().toISOString(), user: user, farm: form.getAttribute('data-farm'),
        page: location.pathname + location.search, done: form.getAttribute('data-done'),
        label: form.getAttribute('data-label')};
      entry.fields = fieldsOf();
      entry.confirm = !!(form.confirm_safe_interval && form.confirm_safe_interval.checked);
      if (fileInput) {
        await shrinking;
        if (chosen === null && fileInput.files && fileInput.files.length) await choosePhotos();
        if (chosen !== null) entry.photos = chosen;  // else a fixed entry keeps its photos
        entry.keep_location = !!(form.keep_location && form.keep_location.checked);
      }
      entry.state = 'waiting';
      delete entry.error;
      await put(entry);  // on the phone before anything is sent, photos and all
      if (fixing || (entry.photos && entry.photos.length && navigator.onLine)) {
        await sync();
        var after = await getEntry(entry.client_id);
        // A round of sending that had begun before this entry was queued: one more for it.
        if (after && after.state === 'waiting' && navigator.onLine) {
          await sync();
          after = await getEntry(entry.client_id);
        }
        if (!after) { location.href = entry.done; return; }
        if (after.state === 'refused') {
          if (!fixing) location.hash = 'fix=' + entry.client_id;  // shown in its form with the reason
          else fillForFix(entry.client_id);
          busy = false;
          return;
        }
        if (fixing) { busy = false; return; }
        // Not sent yet (the connection went): it waits in the queue like any entry made offline.
      } else if (navigator.onLine) {
        var data = new URLSearchParams();
        new FormData(form).forEach(function (value, name) {
          if (typeof value === 'string' && name !== 'keep_location') data.append(name, value);
        });
        data.set('client_id', entry.client_id);
        data.set('recorded_at', entry.recorded_at);
        try {
          var response = await fetch(form.action, {method: 'POST', body: data, credentials: 'same-origin', redirect: 'manual'});
          if (response.type === 'opaqueredirect') {  // saved: the page's own redirect, with its message
            await drop(entry.client_id);
            location.href = entry.done;
            return;
          }
          if (response.status === 422 || response.status === 200) {
            // Not saved, and the page says why: show it as without this script (same key, in case).
            await drop(entry.client_id);
            hidden('client_id', entry.client_id);
            hidden('recorded_at', entry.recorded_at);
            if (fileInput) fileInput.value = '';  // the camera's files are never sent as they are
            HTMLFormElement.prototype.submit.call(form);
            return;
          }
        } catch (err) { /* the network failed: the entry waits in the queue */ }
      }
      saved(text('saved'));
      form.reset();
      chosen = null;
      showPhotos([]);
      if (form.timestamp) form.timestamp.value = localNow();
      busy = false;
      render();
    });
  }

  window.addEventListener('online', sync);
  setInterval(function () { if (navigator.onLine) sync(); }, 20000);
  if (navigator.onLine) sync(); else render();
})();
