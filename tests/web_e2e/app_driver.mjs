// Drives the web app's page through the data-testid attributes of the issue #9 contract
// only (sign up, contacts, dial, answer, hang up, fingerprint, quality, history, settings).

export class AppDriver {
  /** `page`: a Playwright page showing the app; `screenshots`: a directory or null. */
  constructor(page, screenshots) {
    this.page = page;
    this.screenshots = screenshots;
  }

  byId(testId) {
    return this.page.getByTestId(testId);
  }

  async shoot(name) {
    if (!this.screenshots) return;
    await this.page.screenshot({ path: `${this.screenshots}/${name}.png` });
  }

  /** Waits until the element's text matches `pattern`; returns that text. */
  async waitForText(testId, pattern, timeoutMs = 15000) {
    const element = this.byId(testId);
    await element.first().waitFor({ state: 'visible', timeout: timeoutMs });
    const deadline = Date.now() + timeoutMs;
    let text = '';
    for (;;) {
      text = (await element.first().textContent()) ?? '';
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`${testId} shows "${text.trim()}", not ${pattern}, after ${timeoutMs} ms`);
      await this.page.waitForTimeout(100);
    }
  }

  async signUp(username) {
    await this.byId('signup-username').fill(username);
    await this.byId('signup-submit').click();
    return this.waitForText('signed-in-as', new RegExp(username));
  }

  async addContact(username) {
    await this.byId('nav-contacts').click();
    await this.byId('contact-add-input').fill(username);
    await this.byId('contact-add-submit').click();
    await this.waitForText('contact-list', new RegExp(username));
  }

  async callContact(username) {
    await this.byId('nav-contacts').click();
    await this.byId(`call-${username}`).click();
  }

  async dial(username) {
    await this.byId('dial-input').fill(username);
    await this.byId('dial-submit').click();
  }

  async waitForIncoming(from, timeoutMs = 20000) {
    return this.waitForText('incoming-call', new RegExp(from), timeoutMs);
  }

  async answer() {
    await this.byId('answer').click();
  }

  async waitInCall(timeoutMs = 20000) {
    return this.waitForText('call-state', /in call/i, timeoutMs);
  }

  async hangUp() {
    await this.byId('hangup').click();
    return this.waitForText('call-state', /ended/i, 10000);
  }

  /** The fingerprint as the page shows it: { emoji, words } (trimmed). */
  async fingerprint() {
    const emoji = ((await this.byId('fingerprint-emoji').textContent()) ?? '').trim();
    const words = ((await this.byId('fingerprint-words').textContent()) ?? '').trim();
    return { emoji, words };
  }

  async qualityText() {
    return ((await this.byId('quality').textContent()) ?? '').trim();
  }

  // The #test hooks (window.parleyTest).
  startRecording() {
    return this.page.evaluate(() => window.parleyTest.startRecording());
  }

  async takeRecording() {
    return Float32Array.from(await this.page.evaluate(() => window.parleyTest.takeRecording()));
  }

  quality() {
    return this.page.evaluate(() => window.parleyTest.quality());
  }
}
