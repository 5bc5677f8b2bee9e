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
// {"response": "..."}, the key first (the grammar of chat_format.cpp allows only these, with
// whitespace between tokens). It is read as it grows, so an answer streams and an answer cut by
// the token limit still gives what it had: the response text so far, or the calls already closed.
class GenericReader {
 public:
  explicit GenericReader(const std::string& text) : t_(text) {}

  // Reads as much as the text holds; false when it is not the generic format at all.
  bool read(common_chat_msg& msg) {
    ws();
    if (end()) return true;
    if (!eat('{')) return false;
    ws();
    if (end()) return true;
    if (!eat('"')) return false;
    const size_t key_end = t_.find('"', i_);
    if (key_end == std::string::npos) return true;
    const std::string key = t_.substr(i_, key_end - i_);
    i_ = key_end + 1;
    if (key != "response" && key != "tool_calls") return false;
    ws();
    if (end()) return true;
    if (!eat(':')) return false;
    ws();
    if (end()) return true;
    const bool ok = key == "response" ? read_response(msg) : read_calls(msg);
    if (ok && done_) {
      ws();
      closed_ = eat('}');
    }
    return ok;
  }
  // The whole object was read, up to its closing brace.
  bool complete() const { return closed_; }

 private:
  bool read_response(common_chat_msg& msg) {
    if (!eat('"')) return false;
    const size_t start = i_;
    for (; i_ < t_.size(); ++i_) {
      if (t_[i_] == '\\') {
        ++i_;
      } else if (t_[i_] == '"') {
        msg.content = decode(t_.substr(start, i_ - start));
        ++i_;
        done_ = true;
        return true;
      }
    }
    msg.content = decode(without_cut_end(t_.substr(start)));
    return true;
  }

  bool read_calls(common_chat_msg& msg) {
    if (!eat('[')) return false;
    for (;;) {
      ws();
      if (end()) return true;
      if (eat(']')) {
        done_ = true;
        return true;
      }
      if (!msg.tool_calls.empty() && !eat(',')) return false;
      ws();
      const size_t value_end = object_end();
      if (value_end == std::string::npos) return true;  // a call still being written
      const common_json c = common_json::parse_no_throw(t_.substr(i_, value_end - i_));
      i_ = value_end;
      if (!c.is_object() || !c.contains("name") || !c.at("name").is_string()) return false;
      common_chat_tool_call call;
      call.name = c.at("name").get<std::string>();
      call.arguments = c.contains("arguments") ? c.at("arguments").dump() : "{}";
      msg.tool_calls.push_back(std::move(call));
    }
  }

  // One past the JSON object that starts at i_, or npos when the text ends inside it.
  size_t object_end() const {
    if (i_ >= t_.size() || t_[i_] != '{') return std::string::npos;
    int depth = 0;
    bool in_string = false;
    for (size_t k = i_; k < t_.size(); ++k) {
      const char c = t_[k];
      if (in_string) {
        if (c == '\\') {
          ++k;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return k + 1;
      }
    }
    return std::string::npos;
  }

  // A string's body so far, without what the text ends inside: an escape (a lone backslash, a \u
  // and fewer than four digits, the first half of a surrogate pair) or a UTF-8 sequence.
  static std::string without_cut_end(std::string body) {
    for (;;) {
      const size_t before = body.size();
      body.resize(body.size() - cut_utf8_bytes(body));
      const size_t slash = body.rfind('\\');
      if (slash != std::string::npos && odd_backslashes_ending_at(body, slash)) {
        const std::string tail = body.substr(slash + 1);
        const bool cut = tail.empty() || (tail[0] == 'u' && tail.size() < 5);
        const bool high_surrogate = tail.size() == 5 && tail[0] == 'u' && (tail[1] == 'd' || tail[1] == 'D') &&
                                    std::string("89abAB").find(tail[2]) != std::string::npos;
        if (cut || high_surrogate) body.resize(slash);
      }
      if (body.size() == before) return body;
    }
  }

  static bool odd_backslashes_ending_at(const std::string& s, size_t at) {
    size_t run = 0;
    while (run <= at && s[at - run] == '\\') ++run;
    return run % 2 == 1;
  }

  // Bytes at the end of `s` that begin a UTF-8 sequence the text ends inside.
  static size_t cut_utf8_bytes(const std::string& s) {
    for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
      const auto c = static_cast<unsigned char>(s[s.size() - back]);
      if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
      const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      return length > back ? back : 0;
    }
    return 0;
  }

  // A JSON string body as text.
  static std::string decode(const std::string& body) {
    const common_json s = common_json::parse_no_throw("\"" + body + "\"");
    if (!s.is_string()) throw std::runtime_error("the response text cannot be decoded yet");
    return s.get<std::string>();
  }

  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\t' || t_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    if (i_ >= t_.size() || t_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool end() const { return i_ >= t_.size(); }

  const std::string& t_;
  size_t i_ = 0;
  bool done_ = false;    // the response string or the calls' array closed
  bool closed_ = false;  // and the object after it
};

common_chat_msg parse_generic(const std::string& text, bool partial) {
  common_chat_msg msg;
  msg.role = "assistant";
  GenericReader reader(text);
  if (!reader.read(msg) || (!partial && !reader.complete())) {
    throw std::runtime_error("the answer is not the generic tool JSON");
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
// shown as it is, answer text. The generic format cannot break (its grammar holds it), only be
// cut by the token limit: then it gives what it had, never its own JSON as the answer.
common_chat_msg ChatGeneration::parse_final(const std::string& text) {
  try {
    return parse_output(*syntax_, text, false);
  } catch (const std::exception&) {
    if (syntax_->kind == OutputSyntax::Kind::generic_tools) {
      try {
        return parse_output(*syntax_, text, true);
      } catch (const std::exception&) {
      }
    }
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
