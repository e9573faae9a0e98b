// Entry point of the web client's page. The UI comes with issue #9's next step; for
// now it only proves that the protocol core loads in a browser.
import { loadSodium } from './protocol/sodium';

const app = document.getElementById('app');
loadSodium()
  .then(() => {
    if (app) app.textContent = 'Parley web client: protocol core loaded.';
  })
  .catch((error: unknown) => {
    if (app) app.textContent = `Parley could not start: ${String(error)}`;
  });
