// The dashboard's router: the hash names the page and its parameters (#/tasks?agent=news), so a
// page's filters survive a reload and can be bookmarked. Each page's render() returns a cleanup
// that drops its live subscriptions when another page is shown.
import { clear, h } from "./dom.js";
import { parseHash } from "./route.js";
import { onState } from "./api.js";
import * as overview from "./page_overview.js";
import * as tasks from "./page_tasks.js";
import * as task from "./page_task.js";
import * as agents from "./page_agents.js";
import * as chat from "./page_chat.js";

const routes = [
  [/^\/?$/, overview, "overview"],
  [/^\/tasks$/, tasks, "tasks"],
  [/^\/tasks\/(\d+)$/, task, "tasks"],
  [/^\/agents$/, agents, "agents"],
  [/^\/agents\/([a-z][a-z0-9_-]*)$/, agents, "agents"],
  [/^\/chat$/, chat, "chat"],
];

let cleanup = null;

function show() {
  const main = document.getElementById("main");
  if (cleanup) cleanup();
  cleanup = null;
  clear(main);
  const { path, params } = parseHash();
  for (const [re, page, nav] of routes) {
    const m = path.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === nav);
    cleanup = page.render(main, params, m.slice(1)) || null;
    return;
  }
  main.append(h("p", { class: "error" }, `No page ${path}`));
}

window.addEventListener("hashchange", show);
onState(() => {});  // the header's live badge, on every page
show();
