// GMime's one-time initialisation, shared by every plugin that uses GMime (mail for messages,
// news for RFC 822 dates): g_mime_init counts calls without a lock, so two plugins each with a
// once-flag of their own could still race on it.
#pragma once

namespace agentd::agents {

// Thread-safe; call before any GMime function.
void init_gmime();

}  // namespace agentd::agents
