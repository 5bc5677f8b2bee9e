// The page and its parameters, kept in the URL's hash (#/tasks?agent=news).
export function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

// Rewrites the current page's parameters in the URL without a new history entry or a re-render.
export function setParams(params) {
  const { path } = parseHash();
  const q = params.toString();
  history.replaceState(null, "", `#${path}${q ? "?" + q : ""}`);
}
