// /docs/: asks for an API key (kept in sessionStorage under the key the admin
// UI uses too), fetches /api/openapi.json with it and hands the description
// to Swagger UI, whose "Try it out" requests carry the same key. No inline
// script: the page's Content-Security-Policy forbids them.
'use strict';

(function () {
  const storageKey = 'invsys.apiKey';
  const form = document.getElementById('key-form');
  const input = document.getElementById('api-key');
  const problem = document.getElementById('key-error');
  const bar = document.getElementById('key-bar');

  function askForKey(message) {
    sessionStorage.removeItem(storageKey);
    document.getElementById('swagger-ui').replaceChildren();
    bar.hidden = true;
    form.hidden = false;
    problem.textContent = message || '';
    input.focus();
  }

  async function show(key) {
    let response;
    try {
      response = await fetch('/api/openapi.json', {
        headers: { Authorization: 'Bearer ' + key },
        cache: 'no-cache',
      });
    } catch (e) {
      askForKey('The server could not be reached: ' + e.message);
      return;
    }
    if (response.status === 401 || response.status === 403) {
      askForKey(response.status === 401 ? 'That key is not valid (unknown or revoked).'
        : 'That key may not read the description.');
      return;
    }
    if (!response.ok) {
      askForKey('The description could not be fetched: HTTP ' + response.status);
      return;
    }
    const spec = await response.json();
    form.hidden = true;
    bar.hidden = false;
    window.ui = SwaggerUIBundle({
      spec: spec,
      dom_id: '#swagger-ui',
      deepLinking: true,
      // "Try it out" talks to this server with this tab's key.
      requestInterceptor: function (request) {
        request.headers.Authorization = 'Bearer ' + sessionStorage.getItem(storageKey);
        return request;
      },
    });
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    sessionStorage.setItem(storageKey, key);
    input.value = '';
    show(key);
  });
  document.getElementById('forget-key').addEventListener('click', function () {
    askForKey('');
  });

  const held = sessionStorage.getItem(storageKey);
  if (held) show(held); else askForKey('');
})();
