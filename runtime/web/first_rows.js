// Loaded async before every other module (index.html): on the Tasks page, asks for its first
// rows at once (tasks_query.js says why). Filters with a time range are left to the page: their
// query holds the time of asking.
import { parseHash } from "./route.js";
import { askEarly, tasksQuery } from "./tasks_query.js";

const { path, params } = parseHash();
if (path === "/tasks" && !params.get("range")) askEarly(tasksQuery(params));
