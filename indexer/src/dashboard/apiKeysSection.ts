/**
 * The "API keys" section of the signed-in page: the form that creates a named key, where a new key is shown this
 * once, and the list (the script fills it from /dashboard/api/keys, browser/apiKeys.ts).
 */
export const API_KEYS_SECTION = `<section id="api-keys" aria-labelledby="api-keys-heading">
      <h2 id="api-keys-heading">API keys</h2>
      <p class="note">Your server sends a key with each API request (<code>Authorization: Bearer …</code>). A new key is shown once: store it then. Revoking a key refuses it at once.</p>
      <form id="create-key" class="filters">
        <label>Key name <input name="name" required maxlength="100" autocomplete="off" placeholder="Shop server"></label>
        <div class="actions"><button type="submit">Create key</button></div>
      </form>
      <div id="new-key" class="new-key" hidden>
        <p><strong>Your new key, shown this once:</strong> copy it to your server's settings now.</p>
        <p><code id="new-key-value"></code></p>
      </div>
      <div class="table-wrap">
        <table id="key-list">
          <caption>Your API keys, newest first</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Mode</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th></tr></thead>
          <tbody></tbody>
        </table>
      </div>
    </section>`;
