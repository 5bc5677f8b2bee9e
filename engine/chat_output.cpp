#include "engine/chat_output.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>

#include "json.h"

namespace agentd::engine {

namespace {

std::string new_call_id() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t start = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  char id[40];
  std::snprintf(id, sizeof id, "call_%016llx", static_cast<unsigned long long>(start * 1000003 + counter++));
  return id;
}

// agentd's generic format: {"tool_calls": [{"name": ..., "arguments": {...}}, ...]} or
// {"response": "..."} (the grammar of chat_format.cpp guarantees one of them when it is complete).
common_chat_msg parse_generic(const std::string& text, bool partial) {
  common_chat_msg msg;
  msg.role = "assistant";
  const common_json doc = common_json::parse_no_throw(text);
  if (doc.is_discarded()) {
    if (partial) return msg;  // shown when complete
    throw std::runtime_error("the answer is not the generic tool JSON");
  }
  if (doc.is_object() && doc.contains("response") && doc.at("response").is_string()) {
    msg.content = doc.at("response").get<std::string>();
  } else if (doc.is_object() && doc.contains("tool_calls") && doc.at("tool_calls").is_array()) {
    const common_json& calls = doc.at("tool_calls");
    for (size_t i = 0; i < calls.size(); ++i) {
      const common_json& c = calls.at(i);
      if (!c.is_object() || !c.contains("name") || !c.at("name").is_string()) continue;
      common_chat_tool_call call;
      call.name = c.at("name").get<std::string>();
      call.arguments = c.contains("arguments") ? c.at("arguments").dump() : "{}";
      msg.tool_calls.push_back(std::move(call));
    }
  } else {
    msg.content = text;
  }
  return msg;
}

MessageDelta to_delta(const common_chat_msg_diff& d) {
  MessageDelta out;
  out.content = d.content_delta;
  out.reasoning = d.reasoning_content_delta;
  if (d.tool_call_index != std::string::npos) {
    out.tool_index = static_cast<int>(d.tool_call_index);
    out.tool_call = {d.tool_call_delta.id, d.tool_call_delta.name, d.tool_call_delta.arguments};
  }
  return out;
}

}  // namespace

common_chat_msg parse_output(const OutputSyntax& syntax, const std::string& text, bool partial) {
  if (syntax.kind == OutputSyntax::Kind::generic_tools) return parse_generic(text, partial);
  return common_chat_parse(text, partial, syntax.params);
}

ChatGeneration::ChatGeneration(std::unique_ptr<Generation> inner, std::shared_ptr<const OutputSyntax> syntax)
    : inner_(std::move(inner)), syntax_(std::move(syntax)) {
  shown_.role = "assistant";
}

// Queues the deltas from what was shown to `next` (a parse of more text), with stable call ids.
void ChatGeneration::advance(const common_chat_msg& parsed) {
  common_chat_msg next = parsed;
  next.set_tool_call_ids(ids_, new_call_id);
  for (const auto& d : common_chat_msg_diff::compute_diffs(shown_, next)) pending_.push_back(to_delta(d));
  shown_ = std::move(next);
}

// A complete text that does not parse (a model that broke its format without a grammar) is
// shown as it is, answer text.
common_chat_msg ChatGeneration::parse_final(const std::string& text) {
  try {
    return parse_output(*syntax_, text, false);
  } catch (const std::exception&) {
    common_chat_msg msg;
    msg.role = "assistant";
    msg.content = text;
    return msg;
  }
}

std::optional<MessageDelta> ChatGeneration::next_delta() {
  while (pending_.empty() && !ended_) {
    auto piece = inner_->next_piece();
    if (!piece) {
      ended_ = true;
      common_chat_msg last = parse_final(raw_);
      // A partial parse may have shown text the complete parse reads otherwise (the generic
      // format shows nothing until the end); only growth is streamed.
      try {
        advance(last);
      } catch (const std::exception&) {
      }
      break;
    }
    raw_ += *piece;
    try {
      advance(parse_output(*syntax_, raw_, true));
    } catch (const std::exception&) {
      // Not parseable yet: wait for more text.
    }
  }
  if (pending_.empty()) return std::nullopt;
  MessageDelta d = std::move(pending_.front());
  pending_.pop_front();
  return d;
}

std::optional<std::string> ChatGeneration::next_piece() {
  while (auto d = next_delta()) {
    if (!d->content.empty()) return std::move(d->content);
  }
  return std::nullopt;
}

Result ChatGeneration::wait() {
  Result r = inner_->wait();
  if (r.finish == FinishReason::error) return r;
  common_chat_msg msg = parse_final(r.text);
  msg.set_tool_call_ids(ids_, new_call_id);
  r.text = msg.content;
  r.reasoning = msg.reasoning_content;
  for (const auto& c : msg.tool_calls) r.tool_calls.push_back({c.id, c.name, c.arguments});
  return r;
}

}  // namespace agentd::engine
