// What the page keeps in the browser's storage: the open conversation (so it survives a
// reload), whose it is (so the next person to sign in does not reopen it), and a
// question typed when the session ended (so it survives the trip through sign-in).
// Storage may be disabled; then each call quietly does nothing.

const CONVERSATION_KEY = "corral.conversationId";
const OWNER_KEY = "corral.userId"; // whose conversation CONVERSATION_KEY is
const DRAFT_KEY = "corral.draft";

function quietly(action, fallback = null) {
  try {
    return action();
  } catch {
    return fallback; // storage disabled: it lasts as long as the page
  }
}

export function storedConversationId() {
  return quietly(() => window.localStorage.getItem(CONVERSATION_KEY));
}

/** Remember (or, with null, forget) the open conversation of `ownerId`. */
export function storeConversationId(id, ownerId) {
  quietly(() => {
    if (id) window.localStorage.setItem(CONVERSATION_KEY, id);
    else window.localStorage.removeItem(CONVERSATION_KEY);
    if (ownerId) window.localStorage.setItem(OWNER_KEY, ownerId);
  });
}

/** Another person signed in on this browser: their last conversation is not ours. */
export function adoptOwner(ownerId) {
  quietly(() => {
    if (window.localStorage.getItem(OWNER_KEY) === ownerId) return;
    window.localStorage.removeItem(CONVERSATION_KEY);
    window.localStorage.setItem(OWNER_KEY, ownerId);
  });
}

/** Signing out: nothing of this person stays behind. */
export function forgetAll() {
  quietly(() => {
    window.localStorage.removeItem(CONVERSATION_KEY);
    window.localStorage.removeItem(OWNER_KEY);
    window.sessionStorage.removeItem(DRAFT_KEY);
  });
}

export function saveDraft(text) {
  if (!text || !text.trim()) return;
  quietly(() => window.sessionStorage.setItem(DRAFT_KEY, text));
}

/** The saved question, once. */
export function takeDraft() {
  return quietly(() => {
    const text = window.sessionStorage.getItem(DRAFT_KEY);
    window.sessionStorage.removeItem(DRAFT_KEY);
    return text;
  });
}
