#include "engine/json_schema_grammar.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "scheduler/bounded_json.hpp"

namespace agentd::engine {

namespace {

using json = nlohmann::json;

const char* const kPrimitives[][2] = {
    {"ws", R"(| " " | "\n" [ \t]{0,20})"},
    {"string", R"("\"" char* "\"")"},
    {"char", R"([^"\\\x7F\x00-\x1F] | "\\" (["\\bfnrt/] | "u" [0-9a-fA-F]{4}))"},
    {"integral", R"("0" | [1-9] [0-9]{0,15})"},
    {"integer", R"("-"? integral)"},
    {"number", R"("-"? integral ("." [0-9]+)? ([eE] [-+]? [0-9]+)?)"},
    {"nonnegative-integer", R"(integral)"},
    {"nonnegative-number", R"(integral ("." [0-9]+)? ([eE] [-+]? [0-9]+)?)"},
    {"boolean", R"("true" | "false")"},
    {"null", R"("null")"},
    {"value", R"(any-object | any-array | string | number | boolean | null)"},
    {"any-object",
     R"("{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}")"},
    {"any-array", R"("[" ws ( value ws ( "," ws value ws )* )? "]")"},
};

const std::set<std::string, std::less<>> kKeywords = {
    "type",  "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "minLength",
    "maxLength", "minimum", "enum", "const", "anyOf", "oneOf",
    // annotations
    "title", "description", "default", "examples", "format", "$schema", "$id", "$comment"};

std::string gbnf_literal(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789ABCDEF";
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

class Converter {
 public:
  std::string convert(const json& schema) {
    const std::string body = visit(schema, "");
    std::string out = "root ::= " + body + "\n";
    for (const auto& [name, rule] : rules_) out += name + " ::= " + rule + "\n";
    for (const auto& p : kPrimitives) out += std::string(p[0]) + " ::= " + p[1] + "\n";
    return out;
  }

 private:
  [[noreturn]] static void fail(const std::string& path, const std::string& what) { throw SchemaError(path, what); }

  std::string add_rule(const std::string& hint, std::string body) {
    std::string base;
    for (const char c : hint) base += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
    if (base.empty()) base = "r";
    std::string name = "s-" + base;
    for (int i = 2; used_.count(name); ++i) name = "s-" + base + "-" + std::to_string(i);
    used_.insert(name);
    rules_.emplace_back(name, std::move(body));
    return name;
  }

  static std::string child(const std::string& path, const std::string& key) { return json_pointer_child(path, key); }

  std::string alternatives(const json& list, const std::string& path, const std::string& key) {
    if (!list.is_array() || list.empty()) fail(child(path, key), "expected a non-empty array");
    std::string body;
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) body += " | ";
      body += visit(list[i], child(child(path, key), std::to_string(i)));
    }
    return "(" + body + ")";
  }

  std::string visit(const json& schema, const std::string& path) {
    // Each level of nesting costs a few frames here; the raw-text check keeps copies shallow.
    struct Depth {
      int& d;
      explicit Depth(int& depth) : d(++depth) {}
      ~Depth() { --d; }
    } depth(depth_);
    if (depth_ > kMaxSchemaDepth) fail(path, "the schema is nested too deep (more than " + std::to_string(kMaxSchemaDepth) + " levels)");
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) fail(path, "schema `false` matches nothing");
      return "value";
    }
    if (!schema.is_object()) fail(path, "a schema must be an object or a boolean");
    for (const auto& [key, _] : schema.items()) {
      if (!kKeywords.count(key)) fail(child(path, key), "unsupported keyword \"" + key + "\"");
    }
    if (schema.contains("additionalProperties") && !schema["additionalProperties"].is_boolean()) {
      fail(child(path, "additionalProperties"), "only true or false is supported");
    }
    if (schema.contains("const")) return gbnf_literal(schema["const"].dump());
    if (schema.contains("enum")) {
      const json& values = schema["enum"];
      if (!values.is_array() || values.empty()) fail(child(path, "enum"), "expected a non-empty array");
      std::string body;
      for (size_t i = 0; i < values.size(); ++i) body += (i ? " | " : "") + gbnf_literal(values[i].dump());
      return "(" + body + ")";
    }
    if (schema.contains("anyOf")) return alternatives(schema["anyOf"], path, "anyOf");
    if (schema.contains("oneOf")) return alternatives(schema["oneOf"], path, "oneOf");
    if (!schema.contains("type")) {
      if (schema.contains("properties")) return object(schema, path);
      if (schema.contains("items")) return array(schema, path);
      return "value";
    }
    const json& type = schema["type"];
    if (type.is_array()) {
      if (type.empty()) fail(child(path, "type"), "expected at least one type");
      std::string body;
      for (size_t i = 0; i < type.size(); ++i) {
        json one = schema;
        one["type"] = type[i];
        body += (i ? " | " : "") + visit(one, path);
      }
      return "(" + body + ")";
    }
    if (!type.is_string()) fail(child(path, "type"), "expected a string or an array of strings");
    const std::string t = type.get<std::string>();
    if (t == "object") return object(schema, path);
    if (t == "array") return array(schema, path);
    if (t == "string") return string(schema, path);
    if (t == "number" || t == "integer") return number(schema, path, t);
    if (t == "boolean" || t == "null") return t;
    fail(child(path, "type"), "unknown type \"" + t + "\"");
  }

  std::string object(const json& schema, const std::string& path) {
    if (!schema.contains("properties")) return "any-object";
    const json& props = schema["properties"];
    if (!props.is_object()) fail(child(path, "properties"), "expected an object");
    std::set<std::string> required;
    if (schema.contains("required")) {
      const json& req = schema["required"];
      if (!req.is_array()) fail(child(path, "required"), "expected an array of names");
      for (const auto& r : req) {
        if (!r.is_string() || !props.contains(r.get<std::string>())) {
          fail(child(path, "required"), "names a property that is not in \"properties\": " + r.dump());
        }
        required.insert(r.get<std::string>());
      }
    }
    std::vector<std::string> req_kv, opt_kv;
    for (const auto& [key, sub] : props.items()) {
      const std::string value = visit(sub, child(child(path, "properties"), key));
      const std::string kv = add_rule(key + "-kv", gbnf_literal(json(key).dump()) + " ws \":\" ws " + value + " ws");
      (required.count(key) ? req_kv : opt_kv).push_back(kv);
    }
    std::string body = "\"{\" ws ";
    for (size_t i = 0; i < req_kv.size(); ++i) body += (i ? "\",\" ws " : "") + req_kv[i] + " ";
    if (!req_kv.empty()) {
      for (const auto& kv : opt_kv) body += "(\",\" ws " + kv + ")? ";
    } else if (!opt_kv.empty()) {
      std::string chain = opt_kv[0];
      for (size_t i = 1; i < opt_kv.size(); ++i) chain += " (\",\" ws " + opt_kv[i] + ")?";
      body += "(" + chain + ")? ";
    }
    return add_rule("object", body + "\"}\"");
  }

  std::string array(const json& schema, const std::string& path) {
    const std::string item = schema.contains("items") ? visit(schema["items"], child(path, "items")) : "value";
    const int min = count(schema, "minItems", path, 0);
    const int max = count(schema, "maxItems", path, -1);
    if (max >= 0 && max < min) fail(child(path, "maxItems"), "maxItems is below minItems");
    if (max == 0) return "\"[\" ws \"]\"";
    const std::string rest_max = max < 0 ? "" : std::to_string(max - 1);
    const std::string more = "(\",\" ws " + item + " ws){" + std::to_string(std::max(min - 1, 0)) + "," + rest_max + "}";
    std::string list = item + " ws " + more;
    if (min == 0) list = "(" + list + ")?";
    return add_rule("array", "\"[\" ws " + list + " \"]\"");
  }

  std::string string(const json& schema, const std::string& path) {
    const int min = count(schema, "minLength", path, 0);
    const int max = count(schema, "maxLength", path, -1);
    if (min == 0 && max < 0) return "string";
    if (max >= 0 && max < min) fail(child(path, "maxLength"), "maxLength is below minLength");
    return add_rule("string", "\"\\\"\" char{" + std::to_string(min) + "," + (max < 0 ? "" : std::to_string(max)) + "} \"\\\"\"");
  }

  // A minimum of 0 or more is "no minus sign" here; the bound itself is the validator's to check.
  static std::string number(const json& schema, const std::string& path, const std::string& type) {
    if (!schema.contains("minimum")) return type;
    const json& min = schema["minimum"];
    if (!min.is_number()) fail(child(path, "minimum"), "expected a number");
    return min.get<double>() >= 0 ? "nonnegative-" + type : type;
  }

  static int count(const json& schema, const char* key, const std::string& path, int fallback) {
    if (!schema.contains(key)) return fallback;
    const json& v = schema[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 100000) {
      fail(child(path, key), "expected a non-negative integer");
    }
    return v.get<int>();
  }

  std::vector<std::pair<std::string, std::string>> rules_;
  std::set<std::string> used_;
  int depth_ = 0;
};

}  // namespace

std::string json_pointer_child(const std::string& pointer, std::string_view key) {
  std::string out = pointer + "/";
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string json_schema_to_gbnf(const std::string& schema_json) {
  if (schema_json.size() > kMaxSchemaBytes) {
    throw std::invalid_argument("the schema is too large (" + std::to_string(schema_json.size()) + " bytes; at most " +
                                std::to_string(kMaxSchemaBytes) + ")");
  }
  // Twice the schema depth in brackets: every schema level is an object, and "properties" another.
  if (auto problem = scheduler::json_bounds_problem(schema_json, {schema_json.size(), 2 * kMaxSchemaDepth + 2})) {
    throw std::invalid_argument("the schema is refused (at most " + std::to_string(kMaxSchemaDepth) +
                                " levels deep): " + *problem);
  }
  json schema;
  try {
    schema = json::parse(schema_json);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number past double's range
    throw std::invalid_argument(std::string("not valid JSON: ") + e.what());
  }
  std::string grammar = Converter().convert(schema);
  if (grammar.size() > kMaxGrammarBytes) {
    throw std::invalid_argument("the schema makes a grammar too large (" + std::to_string(grammar.size()) +
                                " bytes; at most " + std::to_string(kMaxGrammarBytes) + ")");
  }
  return grammar;
}

}  // namespace agentd::engine
