// The agent server's HTTP API (docs/api.md). Paths are absolute so the same files
// work behind the UI container's nginx (/api proxied) and when the agent server
// serves them itself (UI_DIR, same origin).

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

async function request(method, path, body) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(
      0,
      "The server could not be reached. Check your connection and that Corral is running.",
    );
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null; // e.g. an HTML error page from a proxy
  }
  if (!response.ok) {
    throw new ApiError(response.status, detailOf(data, response), retryAfterOf(response));
  }
  return data;
}

export const api = {
  datasets: () => request("GET", "/api/datasets"),
  readiness: () => request("GET", "/api/readyz"),
  suggestions: () => request("GET", "/api/suggestions"),
  conversations: () => request("GET", "/api/conversations"),
  conversation: (id) => request("GET", `/api/conversations/${encodeURIComponent(id)}`),
  deleteConversation: (id) =>
    request("DELETE", `/api/conversations/${encodeURIComponent(id)}`),
  /** @param {{question: string, conversation_id?: string, dataset?: string}} body */
  chat: (body) => request("POST", "/api/chat", body),
};
