#include "agents/extractor/schema_validator.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

namespace agentd::agents {

namespace {

using json = nlohmann::json;

const std::set<std::string> kTypes = {"object", "array", "string", "number", "integer", "boolean", "null"};
const std::set<std::string> kKeywords = {"type",     "properties", "required", "additionalProperties",
                                         "items",    "enum",       "maxLength", "maxItems",
                                         "minimum",  "title",      "description", "$schema"};

// A JSON pointer one step down ("~" and "/" escaped as RFC 6901 says).
std::string child(const std::string& pointer, const std::string& key) {
  std::string escaped;
  for (char c : key) {
    if (c == '~') {
      escaped += "~0";
    } else if (c == '/') {
      escaped += "~1";
    } else {
      escaped += c;
    }
  }
  return pointer + "/" + escaped;
}

std::string shown(const std::string& pointer) { return pointer.empty() ? "/" : pointer; }

std::vector<std::string> types_of(const json& schema) {
  if (!schema.contains("type")) return {};
  const json& t = schema["type"];
  if (t.is_string()) return {t.get<std::string>()};
  std::vector<std::string> out;
  for (const auto& one : t) out.push_back(one.get<std::string>());
  return out;
}

bool lists(const std::vector<std::string>& types, const char* type) {
  for (const auto& t : types) {
    if (t == type) return true;
  }
  return false;
}

bool non_negative_integer(const json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0); }

void check(const json& schema, const std::string& pointer) {
  auto fail = [](const std::string& at, const std::string& why) { throw SchemaError(at, why); };
  if (!schema.is_object()) fail(pointer, "a schema must be an object");
  for (const auto& [key, value] : schema.items()) {
    if (!kKeywords.count(key)) fail(child(pointer, key), "unsupported keyword \"" + key + "\"");
  }
  if (schema.contains("type")) {
    const json& t = schema["type"];
    bool ok = t.is_string() ? kTypes.count(t.get<std::string>()) > 0 : t.is_array() && !t.empty();
    for (const auto& one : t.is_array() ? t : json::array()) ok = ok && one.is_string() && kTypes.count(one.get<std::string>());
    if (!ok) fail(child(pointer, "type"), "expected one of object, array, string, number, integer, boolean, null (or a list)");
  }
  if (schema.contains("enum") && (!schema["enum"].is_array() || schema["enum"].empty())) {
    fail(child(pointer, "enum"), "expected a non-empty array");
  }
  if (!schema.contains("type") && !schema.contains("enum")) fail(pointer, "needs a \"type\" or an \"enum\"");
  for (const char* key : {"maxLength", "maxItems"}) {
    if (schema.contains(key) && !non_negative_integer(schema[key])) fail(child(pointer, key), "expected an integer >= 0");
  }
  if (schema.contains("minimum") && !schema["minimum"].is_number()) fail(child(pointer, "minimum"), "expected a number");
  if (schema.contains("additionalProperties") && schema["additionalProperties"] != false) {
    fail(child(pointer, "additionalProperties"), "only false is supported");
  }
  const json properties = schema.value("properties", json::object());
  if (!properties.is_object()) fail(child(pointer, "properties"), "expected an object of schemas");
  for (const auto& [key, sub] : properties.items()) check(sub, child(child(pointer, "properties"), key));
  if (schema.contains("required")) {
    const json& required = schema["required"];
    if (!required.is_array()) fail(child(pointer, "required"), "expected an array of member names");
    for (const auto& name : required) {
      if (!name.is_string() || !properties.contains(name.get<std::string>())) {
        fail(child(pointer, "required"), name.dump() + " is not in \"properties\"");
      }
    }
  }
  if (schema.contains("items")) check(schema["items"], child(pointer, "items"));
  const auto types = types_of(schema);
  if (!schema.contains("enum") && lists(types, "string") && !schema.contains("maxLength")) {
    fail(pointer, "a string needs \"maxLength\" so the constrained output ends");
  }
  if (!schema.contains("enum") && lists(types, "array") && !schema.contains("maxItems")) {
    fail(pointer, "an array needs \"maxItems\" so the constrained output ends");
  }
}

bool has_type(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    return v.is_number_integer() || (v.is_number_float() && std::isfinite(v.get<double>()) && std::floor(v.get<double>()) == v.get<double>());
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
  std::string text = v.dump();
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

class Validator {
 public:
  explicit Validator(size_t max_errors) : max_(max_errors) {}

  void visit(const json& value, const json& schema, const std::string& pointer) {
    if (errors_.size() >= max_) return;
    const auto types = types_of(schema);
    if (!types.empty() && std::none_of(types.begin(), types.end(), [&](const std::string& t) { return has_type(value, t); })) {
      std::string expected;
      for (const auto& t : types) expected += (expected.empty() ? "" : " or ") + t;
      return add(pointer, "expected " + expected + ", got " + type_of(value));
    }
    if (schema.contains("enum")) {
      const json& allowed = schema["enum"];
      if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        add(pointer, clipped(value) + " is not one of " + allowed.dump());
      }
    }
    if (value.is_string() && schema.contains("maxLength") && code_points(value.get<std::string>()) > schema["maxLength"].get<size_t>()) {
      add(pointer, std::to_string(code_points(value.get<std::string>())) + " characters, more than maxLength " + schema["maxLength"].dump());
    }
    if (value.is_number() && schema.contains("minimum") && value.get<double>() < schema["minimum"].get<double>()) {
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

  void array(const json& value, const json& schema, const std::string& pointer) {
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>()) {
      add(pointer, std::to_string(value.size()) + " items, more than maxItems " + schema["maxItems"].dump());
    }
    if (!schema.contains("items")) return;
    for (size_t i = 0; i < value.size(); ++i) visit(value[i], schema["items"], child(pointer, std::to_string(i)));
  }

  void object(const json& value, const json& schema, const std::string& pointer) {
    const json properties = schema.value("properties", json::object());
    for (const auto& name : schema.value("required", json::array())) {
      if (!value.contains(name.get<std::string>())) add(child(pointer, name.get<std::string>()), "required member missing");
    }
    for (const auto& [key, member] : value.items()) {
      if (properties.contains(key)) {
        visit(member, properties[key], child(pointer, key));
      } else if (schema.contains("additionalProperties")) {
        add(child(pointer, key), "not allowed (additionalProperties is false)");
      }
    }
  }

  size_t max_;
  std::vector<std::string> errors_;
};

}  // namespace

void check_supported_schema(const json& schema) { check(schema, ""); }

std::vector<std::string> validate_json(const json& value, const json& schema, size_t max_errors) {
  Validator v(max_errors);
  v.visit(value, schema, "");
  return std::move(v).errors();
}

json grammar_schema(const json& schema) {
  if (!schema.is_object()) return schema;
  json out = schema;
  if (out.contains("minimum") && out["minimum"] != 0) out.erase("minimum");  // only 0 is a grammar
  if (out.contains("properties") && out["properties"].is_object()) {
    for (auto& [key, sub] : out["properties"].items()) sub = grammar_schema(sub);
  }
  if (out.contains("items")) out["items"] = grammar_schema(out["items"]);
  return out;
}

}  // namespace agentd::agents
