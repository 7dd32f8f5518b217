// What /api/readyz tells the people using this Corral: today only that an operator chose
// weaker sandbox isolation (e.g. bwrap without cgroups), which they should know about.

import { h } from "./dom.js";

/** A notice for a readiness answer that reports weaker isolation, else null. */
export function renderIsolationNotice(readiness) {
  const isolation = readiness && typeof readiness.isolation === "string" ? readiness.isolation : "";
  if (!isolation) return null;
  return h(
    "p",
    { class: "notice notice-isolation", role: "status" },
    h("strong", { text: "Weaker sandbox isolation. " }),
    "This Corral runs code with weaker isolation than intended, by its operator's choice: ",
    h("span", { class: "muted", text: isolation }),
  );
}
