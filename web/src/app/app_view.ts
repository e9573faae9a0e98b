// The app's screens as plain DOM: sign-in, contacts (with dialing), history, settings,
// the incoming-call panel and the call screen. It renders ClientController's snapshot
// and forwards clicks; the data-testid names are the ones the end-to-end test uses.
import type { CallView, ClientController, Snapshot } from './client_controller';
import { h, replaceChildren, setText, show } from './dom';
import { Ringer } from './ringer';
import { callStateText, historyRow, historyText, qualityLevel, qualityText } from './view_model';

type Screen = 'contacts' | 'history' | 'settings';
const AUDIENCE_LABELS: ReadonlyArray<readonly ['everyone' | 'contacts' | 'nobody', string]> = [
  ['everyone', 'Everyone'], ['contacts', 'My contacts'], ['nobody', 'Nobody'],
];

function audienceSelect(testid: string): HTMLSelectElement {
  return h('select', { testid }, ...AUDIENCE_LABELS.map(([value, label]) => h('option', { value }, label)));
}

// Lifetime: the page's; renders on every controller change.
export class AppView {
  private screen: Screen = 'contacts';
  private readonly signedInAs = h('span', { testid: 'signed-in-as', class: 'who' });
  private readonly connection = h('span', { class: 'connection' });
  private readonly notice = h('div', { class: 'notice', role: 'status' });
  private readonly noticeText = h('span');

  private readonly signIn: HTMLElement;
  private readonly signInUser = h('input', { testid: 'signup-username', autocomplete: 'username', autocapitalize: 'none',
    spellcheck: 'false', placeholder: 'username', maxlength: '32' });
  private readonly signInButton = h('button', { testid: 'signup-submit', type: 'submit', class: 'primary' }, 'Continue');
  private readonly signInError = h('p', { class: 'error', role: 'alert' });

  private readonly main: HTMLElement;
  private readonly navButtons: Record<Screen, HTMLButtonElement> = {
    contacts: h('button', { testid: 'nav-contacts', type: 'button' }, 'Contacts'),
    history: h('button', { testid: 'nav-history', type: 'button' }, 'History'),
    settings: h('button', { testid: 'nav-settings', type: 'button' }, 'Settings'),
  };
  private readonly screens: Record<Screen, HTMLElement>;
  private readonly dialInput = h('input', { testid: 'dial-input', placeholder: 'username', autocapitalize: 'none', spellcheck: 'false' });
  private readonly contactInput = h('input', { testid: 'contact-add-input', placeholder: 'username', autocapitalize: 'none', spellcheck: 'false' });
  private readonly contactList = h('ul', { testid: 'contact-list', class: 'list' });
  private readonly historyList = h('ul', { testid: 'history-list', class: 'list' });
  private readonly whoMayCall = audienceSelect('setting-who-may-call');
  private readonly p2p = audienceSelect('setting-p2p');
  private readonly deviceLine = h('p', { class: 'hint' });
  private readonly inviteLinkText = h('p', { testid: 'invite-link', class: 'link-text' });
  private readonly inviteCopy = h('button', { testid: 'invite-copy', type: 'button' }, 'Copy');
  private renderedContacts = '';
  private renderedHistory = '';
  private vibratedFor: CallView | undefined; // the incoming call the phone buzzed for
  private readonly ringer = new Ringer();

  private readonly incoming: HTMLElement;
  private readonly incomingText = h('p', { class: 'big' });
  private readonly incomingWarning = h('p', { class: 'warning' });
  private readonly incomingApprove = h('button', { testid: 'approve-key', type: 'button' }, 'Approve new key');

  private readonly call: HTMLElement;
  private readonly callPeer = h('h2');
  private readonly callState = h('p', { testid: 'call-state', class: 'state', role: 'status', 'aria-live': 'polite' });
  private readonly fingerprintBox = h('div', { class: 'fingerprint' });
  private readonly fingerprintEmoji = h('p', { testid: 'fingerprint-emoji', class: 'emoji' });
  private readonly fingerprintWords = h('p', { testid: 'fingerprint-words', class: 'words' });
  private readonly identityChanged = h('p', { testid: 'identity-changed', class: 'warning' });
  private readonly callWarning = h('p', { class: 'warning' });
  private readonly callApprove = h('button', { type: 'button' }, 'Approve new key');
  private readonly quality = h('p', { testid: 'quality', class: 'quality' });
  private readonly mute = h('button', { testid: 'mute', type: 'button' }, 'Mute');
  private readonly hangup = h('button', { testid: 'hangup', type: 'button', class: 'danger' }, 'Hang up');
  private readonly close = h('button', { testid: 'close-call', type: 'button' }, 'Close');

  constructor(private readonly root: HTMLElement, private readonly controller: ClientController,
    private readonly now: () => number) {
    const form = (testid: string, onSubmit: () => void, ...children: HTMLElement[]) => {
      const f = h('form', { testid, class: 'row' }, ...children);
      f.addEventListener('submit', (e) => {
        e.preventDefault();
        onSubmit();
      });
      return f;
    };

    this.signIn = h('section', { class: 'card signin' },
      h('h2', {}, 'Sign up or sign in'),
      h('p', { class: 'hint' }, 'Pick a username. This browser keeps its own key; no password is needed. Using the name from this browser before signs you in again.'),
      form('signup-form', () => void this.controller.signUp(this.signInUser.value), this.signInUser, this.signInButton),
      this.signInError);

    const dialButton = h('button', { testid: 'dial-submit', type: 'submit', class: 'primary' }, 'Call');
    const addButton = h('button', { testid: 'contact-add-submit', type: 'submit' }, 'Add');
    this.screens = {
      contacts: h('section', { class: 'screen' },
        h('h3', {}, 'Call someone'),
        form('dial-form', () => void this.controller.dial(this.dialInput.value), this.dialInput, dialButton),
        h('h3', {}, 'Contacts'),
        this.contactList,
        form('contact-add-form', () => {
          void this.controller.addContact(this.contactInput.value);
          this.contactInput.value = '';
        }, this.contactInput, addButton)),
      history: h('section', { class: 'screen' }, h('h3', {}, 'Recent calls'), this.historyList),
      settings: h('section', { class: 'screen', testid: 'settings' },
        h('h3', {}, 'Settings'),
        h('label', {}, 'Who may call me', this.whoMayCall),
        h('label', {}, 'Who may learn my address for a direct (P2P) path', this.p2p),
        h('p', { class: 'hint' }, 'Calls from this browser always go through the server over HTTPS (a browser cannot open a direct path); the P2P setting applies to your account, so your other devices follow it.'),
        this.deviceLine,
        h('h3', {}, 'Invite someone'),
        h('p', { class: 'hint' }, 'A link that opens Parley on this server in any browser. Anyone who has it can sign up here, so send it only to people you trust, over a channel you trust.'),
        this.inviteButton(), this.inviteLinkText, this.inviteCopy),
    };
    this.whoMayCall.addEventListener('change', () => void this.controller.changeSettings({ who_may_call: this.audience(this.whoMayCall) }));
    this.p2p.addEventListener('change', () => void this.controller.changeSettings({ p2p: this.audience(this.p2p) }));
    for (const [screen, button] of Object.entries(this.navButtons) as Array<[Screen, HTMLButtonElement]>) {
      button.addEventListener('click', () => {
        this.screen = screen;
        if (screen === 'history') void this.controller.refreshHistory();
        this.render();
      });
    }
    this.main = h('div', { class: 'main' },
      h('nav', { class: 'tabs' }, this.navButtons.contacts, this.navButtons.history, this.navButtons.settings),
      this.screens.contacts, this.screens.history, this.screens.settings);

    const answer = h('button', { testid: 'answer', type: 'button', class: 'primary' }, 'Answer');
    const decline = h('button', { testid: 'decline', type: 'button', class: 'danger' }, 'Decline');
    // The ring stops at the click, before the microphone opens.
    answer.addEventListener('click', () => {
      this.ringer.stop();
      void this.controller.answer();
    });
    decline.addEventListener('click', () => {
      this.ringer.stop();
      void this.controller.decline();
    });
    this.incomingApprove.addEventListener('click', () => void this.controller.approveKey());
    this.incoming = h('section', { testid: 'incoming-call', class: 'card overlay incoming', role: 'dialog' },
      this.incomingText, this.incomingWarning, this.incomingApprove, h('div', { class: 'row' }, answer, decline));

    this.mute.addEventListener('click', () => this.controller.toggleMute());
    this.hangup.addEventListener('click', () => void this.controller.hangUp());
    this.close.addEventListener('click', () => this.controller.dismissCall());
    this.callApprove.addEventListener('click', () => void this.controller.approveKey());
    this.fingerprintBox.append(h('p', { class: 'hint' }, 'Compare out loud: the other side must see the same.'),
      this.fingerprintEmoji, this.fingerprintWords);
    this.call = h('section', { testid: 'call-screen', class: 'card overlay call', role: 'dialog' },
      this.callPeer, this.callState, this.identityChanged, this.callWarning, this.callApprove, this.fingerprintBox,
      this.quality, h('div', { class: 'row' }, this.mute, this.hangup, this.close));

    const dismiss = h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss' }, '×');
    dismiss.addEventListener('click', () => this.controller.dismissNotice());
    this.notice.append(this.noticeText, dismiss);

    replaceChildren(root,
      h('header', { class: 'top' }, h('h1', {}, 'Parley'), this.signedInAs, this.connection),
      this.notice, this.signIn, this.incoming, this.call, this.main);
    controller.onChange(() => this.render());
    this.render();
  }

  private inviteButton(): HTMLButtonElement {
    const button = h('button', { testid: 'invite-create', type: 'button' }, 'New invite link');
    button.addEventListener('click', () => void this.controller.createInvite());
    this.inviteCopy.addEventListener('click', () => {
      const link = this.inviteLinkText.textContent ?? '';
      const copied = navigator.clipboard?.writeText(link);
      void copied?.then(() => setText(this.inviteCopy, 'Copied')).catch(() => setText(this.inviteCopy, 'Select and copy the link'));
    });
    return button;
  }

  private audience(select: HTMLSelectElement): 'everyone' | 'contacts' | 'nobody' {
    const value = select.value;
    return value === 'contacts' || value === 'nobody' ? value : 'everyone';
  }

  render(): void {
    const s = this.controller.snapshot();
    const signedIn = s.user !== undefined;
    setText(this.signedInAs, s.user ?? '');
    setText(this.connection, s.connection === 'online' ? '' : s.connectionSentence || (s.connection === 'connecting' || s.connection === 'signing_in' ? 'connecting…' : ''));
    setText(this.noticeText, s.notice);
    show(this.notice, s.notice !== '');

    show(this.signIn, !signedIn);
    setText(this.signInError, s.signInError);
    this.signInButton.disabled = s.busySigningIn;
    setText(this.signInButton, s.busySigningIn ? 'Signing in…' : 'Continue');

    show(this.main, signedIn);
    for (const screen of Object.keys(this.screens) as Screen[]) {
      show(this.screens[screen], this.screen === screen);
      this.navButtons[screen].classList.toggle('active', this.screen === screen);
    }
    this.renderContacts(s);
    this.renderHistory(s);
    setText(this.deviceLine, s.user && s.device ? `This browser is the device '${s.device}' of ${s.user}; its key stays in this browser, so keep using it to sign in.` : '');
    setText(this.inviteLinkText, s.invite ?? '');
    show(this.inviteLinkText, s.invite !== undefined);
    show(this.inviteCopy, s.invite !== undefined);
    if (s.settings) {
      this.whoMayCall.value = s.settings.whoMayCall;
      this.p2p.value = s.settings.p2p;
    }
    this.renderCall(s);
  }

  private renderContacts(s: Snapshot): void {
    const key = JSON.stringify([s.contacts, [...s.online].sort()]);
    if (key === this.renderedContacts) return;
    this.renderedContacts = key;
    if (s.contacts.length === 0) {
      replaceChildren(this.contactList, h('li', { class: 'empty' }, 'No contacts yet: add someone by username below.'));
      return;
    }
    replaceChildren(this.contactList, ...s.contacts.map((user) => {
      const online = s.online.has(user);
      const call = h('button', { testid: `call-${user}`, type: 'button', class: 'primary' }, 'Call');
      const remove = h('button', { testid: `remove-${user}`, type: 'button', class: 'link', 'aria-label': `Remove ${user}` }, 'Remove');
      call.addEventListener('click', () => void this.controller.dial(user));
      remove.addEventListener('click', () => void this.controller.removeContact(user));
      return h('li', {}, h('span', { class: online ? 'dot online' : 'dot', title: online ? 'online' : 'offline or not sharing presence' }),
        h('span', { class: 'name' }, user), call, remove);
    }));
  }

  private renderHistory(s: Snapshot): void {
    const key = JSON.stringify(s.history.map((r) => [r.started_unix_ms, r.outcome, r.caller, r.callee]));
    if (key === this.renderedHistory) return;
    this.renderedHistory = key;
    if (s.history.length === 0) {
      replaceChildren(this.historyList, h('li', { class: 'empty' }, 'No calls yet.'));
      return;
    }
    replaceChildren(this.historyList, ...s.history.map((record) => {
      const row = historyRow(record, s.user ?? '');
      const again = h('button', { type: 'button', class: 'link', 'aria-label': `Call ${row.peer}` }, 'Call');
      again.addEventListener('click', () => void this.controller.dial(row.peer));
      return h('li', { class: `history ${row.outcome}` }, h('span', { class: 'name' }, historyText(row)), again);
    }));
  }

  private renderCall(s: Snapshot): void {
    const call = s.call;
    const title = call?.phase === 'incoming' ? `${call.peer} is calling – Parley` : 'Parley';
    if (document.title !== title) document.title = title;
    show(this.incoming, call?.phase === 'incoming');
    if (call?.phase === 'incoming') this.ringer.start();
    else this.ringer.stop();
    show(this.call, call !== undefined && call.phase !== 'incoming');
    if (!call) return;
    if (call.phase === 'incoming') {
      if (this.vibratedFor?.peer !== call.peer || this.vibratedFor.phase !== 'incoming') {
        navigator.vibrate?.([400, 200, 400, 200, 400]); // phones; a no-op elsewhere
      }
      this.vibratedFor = call;
      setText(this.incomingText, `${call.peer} is calling`);
      setText(this.incomingWarning, call.keyWarning ?? '');
      show(this.incomingWarning, call.keyWarning !== undefined);
      show(this.incomingApprove, call.keyBlocked);
      return;
    }
    const now = this.now();
    setText(this.callPeer, call.peer);
    setText(this.callState, callStateText(call.phase, call.peer, call.connectedAt, now, call.endedSentence));
    this.callState.dataset['phase'] = call.phase;
    show(this.identityChanged, call.identityChanged);
    setText(this.identityChanged, call.identityChanged ? `${call.peer}'s identity key changed since your last call. Compare the fingerprint out loud before you trust this call.` : '');
    setText(this.callWarning, !call.identityChanged && call.keyWarning ? call.keyWarning : call.keyBlocked ? call.keyWarning ?? '' : '');
    show(this.callWarning, this.callWarning.textContent !== '');
    show(this.callApprove, call.keyBlocked && call.phase !== 'ended');
    show(this.fingerprintBox, call.fingerprintEmoji !== undefined);
    setText(this.fingerprintEmoji, call.fingerprintEmoji ?? '');
    setText(this.fingerprintWords, call.fingerprintWords ?? '');
    const inCall = call.phase === 'in call';
    show(this.quality, inCall);
    if (inCall) {
      const q = this.controller.quality();
      setText(this.quality, qualityText(q));
      this.quality.dataset['level'] = qualityLevel(q);
    }
    show(this.mute, inCall);
    setText(this.mute, call.muted ? 'Unmute' : 'Mute');
    this.mute.setAttribute('aria-pressed', String(call.muted));
    show(this.hangup, call.phase !== 'ended');
    show(this.close, call.phase === 'ended');
  }
}
