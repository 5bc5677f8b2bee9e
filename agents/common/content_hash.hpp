// content_hash: a short fingerprint of bytes, for recognising content already handled (a
// document summarised, a message without a Message-ID). 64-bit FNV-1a as 16 lower-case hex
// digits: stable across runs, builds and platforms. Not cryptographic: it guards against doing
// work twice, not against someone forging a collision.
#pragma once

#include <string>
#include <string_view>

namespace agentd::agents {

std::string content_hash(std::string_view bytes);

}  // namespace agentd::agents
