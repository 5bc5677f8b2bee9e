// The extractor's default JSON schema: a receipt. Bounded (maxLength, maxItems) so a
// grammar-constrained generation always ends; `minimum` is checked in code.
#pragma once

namespace agentd::agents {

inline constexpr const char* kReceiptSchema = R"({
  "type": "object",
  "properties": {
    "merchant": { "type": "string", "maxLength": 60 },
    "date": { "type": "string", "maxLength": 10, "description": "YYYY-MM-DD" },
    "total": { "type": "number", "minimum": 0 },
    "currency": { "type": "string", "maxLength": 3, "description": "ISO 4217 code" },
    "payment": { "type": "string", "enum": ["cash", "card", "other"] },
    "items": {
      "type": "array",
      "maxItems": 12,
      "items": {
        "type": "object",
        "properties": {
          "name": { "type": "string", "maxLength": 40 },
          "quantity": { "type": "number", "minimum": 0 },
          "price": { "type": "number", "minimum": 0, "description": "per unit" }
        },
        "required": ["name", "quantity", "price"]
      }
    }
  },
  "required": ["merchant", "date", "total", "currency", "payment", "items"]
})";

inline constexpr const char* kReceiptInstruction =
    "Extract the receipt below as JSON: merchant, date (YYYY-MM-DD), total, currency (ISO 4217 code such as EUR), "
    "payment (cash, card or other), and items with name, quantity and unit price.";

}  // namespace agentd::agents
