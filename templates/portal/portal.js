// brainstack portal. No framework, no inline script (strict CSP), no data through innerHTML.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const sections = ['login-section', 'enrol-section', 'devices-section', 'approve-section'];
  const onApprovalPage = location.pathname === '/device';
  const codeInUrl = new URLSearchParams(location.search).get('user_code') || '';
  let pendingCode = '';
  let approvalDone = false;
  let me = null;

  function show(id) {
    for (const s of sections) $(s).hidden = s !== id;
    $('nav').hidden = id === 'login-section';
  }

  function say(text, isError) {
    const m = $('message');
    m.textContent = text;
    m.className = isError ? 'error' : '';
    m.hidden = !text;
  }

  async function api(method, path, body) {
    const response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch { data = {}; }
    if (!response.ok) {
      const error = new Error(data.message || `the server answered ${response.status}`);
      error.code = data.code;
      error.retryAfter = response.headers.get('retry-after');
      if (error.code === 'session_expired' || (error.code === 'unauthenticated' && me)) {
        me = null;
        show('login-section');
        say('Your session has ended; log in again.', true);
        error.handled = true;
      }
      throw error;
    }
    return data;
  }

  const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
  const b64urlToB64 = (s) => s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);

  /** A WireGuard key pair made in this browser: WebCrypto X25519, or the bundled TweetNaCl where it is missing. */
  async function wireGuardKeyPair() {
    try {
      const pair = await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits']);
      const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
      return { privateKey: b64urlToB64(jwk.d), publicKey: b64(await crypto.subtle.exportKey('raw', pair.publicKey)) };
    } catch {
      const pair = window.nacl.box.keyPair();
      return { privateKey: b64(pair.secretKey), publicKey: b64(pair.publicKey) };
    }
  }

  function qrDataUrl(text) {
    const qr = window.qrcode(0, 'M');
    qr.addData(text);
    qr.make();
    return qr.createDataURL(4, 8);
  }

  /** Shows an error unless it was already explained (an ended session). */
  const fail = (err) => {
    if (!err.handled) say(err.message, true);
  };

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

  async function loadDevices() {
    const { devices } = await api('GET', '/api/v1/devices');
    const rows = $('device-rows');
    rows.replaceChildren();
    for (const d of devices) {
      const tr = document.createElement('tr');
      for (const value of [d.name, d.ip, when(d.createdAt), when(d.expiresAt), when(d.lastHandshake)]) {
        const td = document.createElement('td');
        td.textContent = value;
        tr.append(td);
      }
      const actions = document.createElement('td');
      actions.className = 'actions';
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'secondary';
      copy.textContent = 'Copy access token';
      copy.setAttribute('aria-label', `Copy an access token for ${d.name}`);
      copy.addEventListener('click', () => copyToken(d));
      const revoke = document.createElement('button');
      revoke.type = 'button';
      revoke.className = 'danger';
      revoke.textContent = 'Revoke';
      revoke.setAttribute('aria-label', `Revoke ${d.name}`);
      revoke.addEventListener('click', () => revokeDevice(d));
      actions.append(copy, revoke);
      tr.append(actions);
      rows.append(tr);
    }
    $('no-devices').hidden = devices.length > 0;
  }

  async function copyToken(device) {
    try {
      const { access_token: token, expires_in: seconds } = await api('POST', '/api/v1/token', { device: device.id });
      $('token-text').value = token;
      $('token-box').hidden = false;
      try { await navigator.clipboard.writeText(token); say(`Access token for ${device.name} copied (valid ${Math.round(seconds / 60)} min).`); }
      catch { say(`Access token for ${device.name} is shown below (valid ${Math.round(seconds / 60)} min).`); }
    } catch (err) {
      fail(err);
    }
  }

  async function revokeDevice(device) {
    if (!window.confirm(`Revoke ${device.name}? Its tunnel stops at once.`)) return;
    try {
      await api('DELETE', `/api/v1/devices/${device.id}`);
      say(`${device.name} revoked: its tunnel is cut.`);
      await loadDevices();
    } catch (err) {
      fail(err);
    }
  }

  async function afterLogin() {
    me = await api('GET', '/api/v1/me');
    $('whoami').textContent = me.username;
    if (me.totp_enrolment_required) {
      const { otpauth_uri: uri, secret } = await api('POST', '/api/v1/me/totp');
      $('enrol-qr').src = qrDataUrl(uri);
      $('enrol-secret').textContent = secret;
      show('enrol-section');
      $('enrol-code').focus();
      return;
    }
    if (onApprovalPage && !approvalDone) {
      show('approve-section');
      $('user-code').value = codeInUrl;
      if (codeInUrl) await lookupCode();
      else $('user-code').focus();
      return;
    }
    show('devices-section');
    await loadDevices();
  }

  async function lookupCode() {
    try {
      const found = await api('POST', '/api/v1/device-authorizations/lookup', { user_code: $('user-code').value.trim() });
      pendingCode = found.user_code;
      $('approve-device').textContent = found.device_name;
      $('approve-key').textContent = found.key_fingerprint;
      $('approve-details').hidden = false;
      say('');
    } catch (err) {
      $('approve-details').hidden = true;
      if (err.code === 'user_code_invalid') say('That code is unknown, expired or already used. Check it against your terminal.', true);
      else fail(err);
    }
  }

  async function decide(approve) {
    try {
      await api('POST', '/api/v1/device-authorizations/decide', { user_code: pendingCode, approve });
      approvalDone = true;
      $('approve-details').hidden = true;
      say(approve ? 'Approved: your terminal continues by itself.' : 'Denied: the terminal gets no access.');
      show('devices-section');
      await loadDevices();
    } catch (err) {
      if (err.code === 'user_code_invalid') say('That code expired or was already decided; start the login on your terminal again.', true);
      else fail(err);
    }
  }

  $('approve-lookup-form').addEventListener('submit', (event) => { event.preventDefault(); void lookupCode(); });
  $('approve-yes').addEventListener('click', () => void decide(true));
  $('approve-no').addEventListener('click', () => void decide(false));

  /** "Log in with …" links for the configured single sign-on providers. */
  async function loadProviders() {
    try {
      const { providers } = await api('GET', '/api/v1/sso/providers');
      const list = $('sso-buttons');
      list.replaceChildren();
      const returnTo = onApprovalPage ? `/device${codeInUrl ? `?user_code=${encodeURIComponent(codeInUrl)}` : ''}` : '/';
      for (const p of providers) {
        const li = document.createElement('li');
        const a = document.createElement('a');
        a.className = 'button';
        a.href = `${p.login_url}?return_to=${encodeURIComponent(returnTo)}`;
        a.textContent = `Log in with ${p.display_name}`;
        li.append(a);
        list.append(li);
      }
      $('sso-box').hidden = providers.length === 0;
    } catch {
      $('sso-box').hidden = true;
    }
  }

  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { username: $('username').value, password: $('password').value };
    if (!$('totp-step').hidden && $('totp').value) body.totp = $('totp').value;
    try {
      await api('POST', '/api/v1/login', body);
      say('');
      $('password').value = '';
      $('totp').value = '';
      $('totp-step').hidden = true;
      await afterLogin();
    } catch (err) {
      if (err.code === 'totp_required') {
        $('totp-step').hidden = false;
        $('totp').required = true;
        $('totp').focus();
        say('Enter the code from your authenticator app.');
      } else if (err.code === 'too_many_attempts' || err.code === 'rate_limited') {
        say(`Too many attempts: you are locked out for now. Try again in ${err.retryAfter || 'a few'} seconds.`, true);
      } else if (err.code === 'invalid_credentials') {
        say('Wrong username, password or code.', true);
      } else {
        fail(err);
      }
    }
  });

  $('enrol-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', '/api/v1/me/totp/confirm', { code: $('enrol-code').value });
      say('Authenticator app set up. From now on, log in with a code.');
      await afterLogin();
    } catch (err) {
      if (err.code === 'invalid_totp') say('That code does not match; check the app and the time on your phone.', true);
      else fail(err);
    }
  });

  $('add-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const keys = await wireGuardKeyPair();
      // Only the public key leaves the browser.
      const device = await api('POST', '/api/v1/devices', { name: $('device-name').value, publicKey: keys.publicKey });
      const config = device.config.replace(/^# PrivateKey = .*$/m, `PrivateKey = ${keys.privateKey}`);
      const link = $('config-download');
      if (link.href.startsWith('blob:')) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(new Blob([`${config}\n`], { type: 'text/plain' }));
      link.download = device.configFileName;
      $('config-qr').src = qrDataUrl(config);
      $('new-device').hidden = false;
      $('device-name').value = '';
      say(`Device ${device.name} added with tunnel address ${device.ip}. Download its config now.`);
      await loadDevices();
      link.focus();
    } catch (err) {
      fail(err);
    }
  });

  $('logout').addEventListener('click', async () => {
    try { await api('POST', '/api/v1/logout'); } catch { /* already gone */ }
    me = null;
    $('new-device').hidden = true;
    $('token-box').hidden = true;
    show('login-section');
    say('Logged out.');
  });

  void loadProviders();
  if (onApprovalPage) say('Log in to approve the device that shows you a code.');
  api('GET', '/api/v1/me').then(() => afterLogin(), () => show('login-section'));
})();
