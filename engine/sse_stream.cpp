#include "engine/sse_stream.hpp"

#include <sstream>

namespace agentd::engine {

namespace {

std::string event_data(const std::string& event) {
  std::string data;
  std::istringstream lines(event);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("data:")) data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
  }
  return data;
}

}  // namespace

bool SseEvents::feed(const char* bytes, std::size_t n, const std::function<bool(const std::string& data)>& on_data) {
  buffer_.append(bytes, n);
  for (std::size_t end; (end = buffer_.find("\n\n")) != std::string::npos;) {
    std::string data = event_data(buffer_.substr(0, end));
    buffer_.erase(0, end + 2);
    if (!data.empty() && !on_data(data)) return false;
  }
  return true;
}

std::optional<std::string> chunk_content(const nlohmann::json& chunk) {
  if (!chunk.is_object() || !chunk.contains("choices") || !chunk["choices"].is_array() || chunk["choices"].empty()) {
    return std::nullopt;
  }
  const nlohmann::json& choice = chunk["choices"][0];
  if (!choice.is_object() || !choice.contains("delta") || !choice["delta"].is_object()) return std::nullopt;
  const nlohmann::json& delta = choice["delta"];
  if (!delta.contains("content") || !delta["content"].is_string()) return std::nullopt;
  return delta["content"].get<std::string>();
}

std::string error_message(const std::string& body) {
  nlohmann::json e = nlohmann::json::parse(body, nullptr, false);
  if (e.is_object() && e.contains("error") && e["error"].is_object()) return e["error"].value("message", body);
  return body.substr(0, 300);
}

}  // namespace agentd::engine
