#include "runtime/chat_stream_reader.hpp"

namespace agentd::runtime {

void ChatStreamReader::feed(const char* data, size_t n) {
  buffer_.append(data, n);
  size_t start = 0;
  for (size_t end; (end = buffer_.find("\n\n", start)) != std::string::npos; start = end + 2) {
    std::string_view event(buffer_.data() + start, end - start);
    if (event == "data: [DONE]") {
      done_ = true;
      continue;
    }
    if (!event.starts_with("data: ")) continue;
    nlohmann::json chunk = nlohmann::json::parse(event.substr(6), nullptr, false);
    if (chunk.is_object()) on_chunk_(chunk);
  }
  buffer_.erase(0, start);
}

std::string ChatStreamReader::delta_content(const nlohmann::json& chunk) {
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return "";
  const nlohmann::json& first = (*choices)[0];
  auto delta = first.find("delta");
  if (delta == first.end() || !delta->is_object()) return "";
  auto content = delta->find("content");
  return content != delta->end() && content->is_string() ? content->get<std::string>() : "";
}

}  // namespace agentd::runtime
