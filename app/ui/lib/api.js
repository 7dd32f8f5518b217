// The agent server's HTTP API (docs/api.md). Paths are absolute so the same files
// work behind the UI container's nginx (/api proxied) and when the agent server
// serves them itself (UI_DIR, same origin). Every state-changing request carries the
// session's CSRF token; a 401 tells the page (onUnauthorized) to ask for sign-in.

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} message one sentence a person can act on
   * @param {number|null} retryAfter seconds from the Retry-After header (429/503)
   */
  constructor(status, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** FastAPI answers {"detail": str} or, for validation, {"detail": [{loc, msg}]}. */
function detailOf(body, response) {
  const detail = body && body.detail;
  if (typeof detail === "string" && detail) return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((d) => {
        const where = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
        return where ? `${where}: ${d.msg}` : String(d.msg);
      })
      .join("; ");
  }
  if (response.status === 502 || response.status === 503 || response.status === 504) {
    return `The agent server is not answering (HTTP ${response.status}). ` +
      "Check that it is running, then try again.";
  }
  return `The server answered HTTP ${response.status} ${response.statusText}`.trim() + ".";
}

function retryAfterOf(response) {
  const raw = response.headers.get("Retry-After");
  if (!raw) return null;
  const seconds = Number.parseInt(raw, 10);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(raw); // the HTTP-date form
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - Date.now()) / 1000)) : null;
}

const CSRF_COOKIE = "corral_csrf";
const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
// Answers 401 as part of their job (wrong password, not signed in yet): the sign-in
// page shows those itself instead of being sent back to sign-in.
const SIGN_IN_PATHS = new Set(["/api/auth/login", "/api/auth/setup", "/api/auth/me"]);

const session = {
  csrfToken: null, // from /api/auth/me, when the cookie cannot be read
  onUnauthorized: null, // set by the page: (error) => void
};

/** The CSRF token: the corral_csrf cookie (it follows a renewed session), else /me's. */
function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CSRF_COOKIE && value.length) return decodeURIComponent(value.join("="));
  }
  return session.csrfToken;
}

async function send(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (STATE_CHANGING.has(method)) {
    const token = csrfToken();
    if (token) init.headers["X-CSRF-Token"] = token;
  }
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError(
      0,
      "The server could not be reached. Check your connection and that Corral is running.",
    );
  }
}

/** The parsed JSON body and the response; throws ApiError for any non-2xx answer. */
async function exchange(method, path, body) {
  const response = await send(method, path, body);
  if (response.status === 204) return { data: null, response };
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null; // e.g. an HTML error page from a proxy
  }
  if (!response.ok) {
    const error = new ApiError(response.status, detailOf(data, response), retryAfterOf(response));
    if (response.status === 401 && !SIGN_IN_PATHS.has(path.split("?")[0]) && session.onUnauthorized) {
      session.onUnauthorized(error);
    }
    throw error;
  }
  return { data, response };
}

async function request(method, path, body) {
  return (await exchange(method, path, body)).data;
}

/** A page of a list route: {items, total} from the body and X-Total-Count. */
async function page(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const qs = query.toString();
  const { data, response } = await exchange("GET", qs ? `${path}?${qs}` : path);
  const items = Array.isArray(data) ? data : (data && data.items) || [];
  const total = Number.parseInt(response.headers.get("X-Total-Count") || "", 10);
  return { items, total: Number.isFinite(total) ? total : items.length };
}

const id = (value) => encodeURIComponent(value);

export const api = {
  session,
  datasets: () => request("GET", "/api/datasets"),
  readiness: () => request("GET", "/api/readyz"),
  suggestions: () => request("GET", "/api/suggestions"),
  conversations: () => request("GET", "/api/conversations"),
  conversation: (cid) => request("GET", `/api/conversations/${id(cid)}`),
  deleteConversation: (cid) => request("DELETE", `/api/conversations/${id(cid)}`),
  /** @param {{question: string, conversation_id?: string, dataset?: string}} body */
  chat: (body) => request("POST", "/api/chat", body),
  /** @param {{code: string, language?: string, message_id?: string}} body */
  rerun: (cid, body) => request("POST", `/api/conversations/${id(cid)}/rerun`, body),

  // Sign-in (identity contract: /api/auth/*)
  authConfig: () => request("GET", "/api/auth/config"),
  me: () => request("GET", "/api/auth/me"),
  login: (username, password) => request("POST", "/api/auth/login", { username, password }),
  setup: (code, username, password) =>
    request("POST", "/api/auth/setup", { code, username, password }),
  logout: () => request("POST", "/api/auth/logout"),

  // API tokens: one's own, or everyone's for an admin (all=true)
  tokens: (all = false) => request("GET", all ? "/api/tokens?all=true" : "/api/tokens"),
  /** @param {{name: string, scope: string, expires_in_days: number, username?: string}} body */
  createToken: (body) => request("POST", "/api/tokens", body),
  revokeToken: (tid) => request("DELETE", `/api/tokens/${id(tid)}`),

  // Administration (admin role)
  users: () => request("GET", "/api/admin/users"),
  /** @param {{username: string, role: string, password: string}} body */
  createUser: (body) => request("POST", "/api/admin/users", body),
  /** @param {{role?: string, disabled?: boolean, password?: string}} changes */
  updateUser: (uid, changes) => request("PATCH", `/api/admin/users/${id(uid)}`, changes),
  /** @param {{user?, status?, since?, until?, limit, offset}} filters */
  audit: (filters) => page("/api/admin/audit", filters),
};
