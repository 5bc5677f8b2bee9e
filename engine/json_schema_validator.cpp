#include "engine/json_schema_validator.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "engine/json_schema_grammar.hpp"

namespace agentd::engine {

namespace {

using json = nlohmann::json;

std::string shown(const std::string& pointer) { return pointer.empty() ? "/" : pointer; }

std::vector<std::string> types_of(const json& schema) {
  const json* t = schema.contains("type") ? &schema["type"] : nullptr;
  if (!t) return {};
  if (t->is_string()) return {t->get<std::string>()};
  std::vector<std::string> out;
  for (const auto& one : t->is_array() ? *t : json::array()) {
    if (one.is_string()) out.push_back(one.get<std::string>());
  }
  return out;
}

bool has_type(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    return v.is_number_integer() ||
           (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>());
  }
  return false;
}

std::string type_of(const json& v) { return v.is_number_integer() ? "integer" : v.type_name(); }

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string clipped(const json& v) {
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

// A count keyword's value, or nullopt if absent or not a count.
std::optional<size_t> count(const json& schema, const char* key) {
  if (!schema.contains(key) || !schema[key].is_number_integer() || schema[key].get<int64_t>() < 0) return std::nullopt;
  return schema[key].get<size_t>();
}

class Validator {
 public:
  explicit Validator(size_t max_errors) : max_(max_errors) {}

  void visit(const json& value, const json& schema, const std::string& pointer) {
    if (errors_.size() >= max_) return;
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) add(pointer, "no value is allowed here (schema false)");
      return;
    }
    if (!schema.is_object()) return;
    const auto types = types_of(schema);
    if (!types.empty() && std::none_of(types.begin(), types.end(), [&](const auto& t) { return has_type(value, t); })) {
      std::string expected;
      for (const auto& t : types) expected += (expected.empty() ? "" : " or ") + t;
      return add(pointer, "expected " + expected + ", got " + type_of(value));
    }
    if (schema.contains("const") && value != schema["const"]) {
      add(pointer, clipped(value) + " is not " + clipped(schema["const"]));
    }
    if (schema.contains("enum") && schema["enum"].is_array()) {
      const json& allowed = schema["enum"];
      if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        add(pointer, clipped(value) + " is not one of " + clipped(allowed));
      }
    }
    branches(value, schema, pointer);
    if (value.is_string()) string(value.get<std::string>(), schema, pointer);
    if (value.is_number() && schema.contains("minimum") && schema["minimum"].is_number() &&
        value.get<double>() < schema["minimum"].get<double>()) {
      add(pointer, value.dump() + " is below the minimum " + schema["minimum"].dump());
    }
    if (value.is_array()) array(value, schema, pointer);
    if (value.is_object()) object(value, schema, pointer);
  }

  std::vector<std::string> errors() && { return std::move(errors_); }

 private:
  void add(const std::string& pointer, const std::string& why) {
    if (errors_.size() < max_) errors_.push_back(shown(pointer) + ": " + why);
  }

  // anyOf: some branch matches; oneOf: exactly one does.
  void branches(const json& value, const json& schema, const std::string& pointer) {
    for (const char* key : {"anyOf", "oneOf"}) {
      if (!schema.contains(key) || !schema[key].is_array()) continue;
      size_t matching = 0;
      for (const json& branch : schema[key]) {
        Validator one(1);
        one.visit(value, branch, pointer);
        matching += one.errors_.empty() ? 1 : 0;
      }
      if (std::string(key) == "anyOf" && matching == 0) add(pointer, "matches none of anyOf");
      if (std::string(key) == "oneOf" && matching != 1) {
        add(pointer, "matches " + std::to_string(matching) + " of oneOf, not exactly one");
      }
    }
  }

  void string(const std::string& text, const json& schema, const std::string& pointer) {
    const size_t n = code_points(text);
    if (auto max = count(schema, "maxLength"); max && n > *max) {
      add(pointer, std::to_string(n) + " characters, more than maxLength " + std::to_string(*max));
    }
    if (auto min = count(schema, "minLength"); min && n < *min) {
      add(pointer, std::to_string(n) + " characters, fewer than minLength " + std::to_string(*min));
    }
  }

  void array(const json& value, const json& schema, const std::string& pointer) {
    if (auto max = count(schema, "maxItems"); max && value.size() > *max) {
      add(pointer, std::to_string(value.size()) + " items, more than maxItems " + std::to_string(*max));
    }
    if (auto min = count(schema, "minItems"); min && value.size() < *min) {
      add(pointer, std::to_string(value.size()) + " items, fewer than minItems " + std::to_string(*min));
    }
    if (!schema.contains("items")) return;
    for (size_t i = 0; i < value.size(); ++i) visit(value[i], schema["items"], json_pointer_child(pointer, std::to_string(i)));
  }

  void object(const json& value, const json& schema, const std::string& pointer) {
    const json properties = schema.contains("properties") && schema["properties"].is_object() ? schema["properties"]
                                                                                                : json::object();
    if (schema.contains("required") && schema["required"].is_array()) {
      for (const auto& name : schema["required"]) {
        if (name.is_string() && !value.contains(name.get<std::string>())) {
          add(json_pointer_child(pointer, name.get<std::string>()), "required member missing");
        }
      }
    }
    const bool closed = schema.contains("additionalProperties") && schema["additionalProperties"] == false;
    for (const auto& [key, member] : value.items()) {
      if (properties.contains(key)) {
        visit(member, properties[key], json_pointer_child(pointer, key));
      } else if (closed) {
        add(json_pointer_child(pointer, key), "not allowed (additionalProperties is false)");
      }
    }
  }

  size_t max_;
  std::vector<std::string> errors_;
};

}  // namespace

std::vector<std::string> validate_json(const json& value, const json& schema, size_t max_errors) {
  Validator v(max_errors);
  v.visit(value, schema, "");
  return std::move(v).errors();
}

}  // namespace agentd::engine
