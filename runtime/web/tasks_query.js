// The Tasks page's /api/tasks query, and the first page of rows asked for before the page's
// modules are in: first_rows.js (loaded async, first thing in index.html) starts that request
// while the browser is still fetching and compiling the rest, and page_tasks.js takes it when it
// draws, if it asks for the same query. At 1M tasks this took the request off the end of the
// module waterfall (it started ~160 ms into a load, after every page module had run).
export const PAGE = 50;
const RANGE_MS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };

// The query for a page of the filtered list (`before`: the last id of the previous page).
export function tasksQuery(params, before) {
  const q = new URLSearchParams({ limit: PAGE });
  for (const k of ["agent", "status", "class", "text"]) if (params.get(k)) q.set(k, params.get(k));
  const range = params.get("range");
  if (RANGE_MS[range]) q.set("since", Date.now() - RANGE_MS[range]);
  if (before) q.set("before", before);
  return q.toString();
}

const early = new Map();  // query -> Promise of the rows (null when the answer was not 200)

export function askEarly(query) {
  early.set(query, fetch(`/api/tasks?${query}`, { headers: { Accept: "application/json" } })
    .then((res) => (res.ok ? res.json() : null))
    .catch(() => null));
}

// The rows asked for early with this query, once (null: none, or they did not come; ask again).
export async function takeEarly(query) {
  const rows = early.get(query);
  early.delete(query);
  return rows ? await rows : null;
}
