#include "agents/common/csv.hpp"

#include <algorithm>
#include <cctype>

#include "agents/common/plain_text.hpp"

namespace agentd::agents {

namespace {

bool same_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Reads records one at a time from the text; keeps the line count.
class CsvScanner {
 public:
  CsvScanner(std::string_view text, const CsvLimits& limits) : text_(text), limits_(limits) {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
  }

  // The next record, or nullopt at the end. Blank lines are skipped.
  std::optional<CsvRecord> next() {
    while (pos_ < text_.size() && at_line_end()) skip_line_end();
    if (pos_ >= text_.size()) return std::nullopt;
    CsvRecord record;
    record.line = line_;
    while (true) {
      if (record.fields.size() == limits_.max_fields) {
        throw CsvError(line_, "more than " + std::to_string(limits_.max_fields) + " fields in a record");
      }
      record.fields.push_back(field());
      if (pos_ >= text_.size()) break;
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      skip_line_end();  // field() stops only at a comma, a line end or the end
      break;
    }
    return record;
  }

 private:
  bool at_line_end() const {
    return text_[pos_] == '\n' || (text_[pos_] == '\r' && (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n'));
  }
  void skip_line_end() {  // "\n", "\r\n", or a "\r" ending the text
    pos_ += text_[pos_] == '\r' && pos_ + 1 < text_.size() ? 2 : 1;
    ++line_;
  }
  void add(std::string& out, char c) const {
    if (out.size() == limits_.max_field_bytes) {
      throw CsvError(line_, "a field longer than " + std::to_string(limits_.max_field_bytes) + " bytes");
    }
    out += c;
  }

  std::string field() { return pos_ < text_.size() && text_[pos_] == '"' ? quoted_field() : plain_field(); }

  std::string plain_field() {
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != ',' && !at_line_end()) {
      if (text_[pos_] == '"') throw CsvError(line_, "a quote inside an unquoted field");
      add(out, text_[pos_++]);
    }
    return out;
  }

  std::string quoted_field() {
    const int opened_on = line_;
    std::string out;
    ++pos_;  // the opening quote
    while (true) {
      if (pos_ >= text_.size()) throw CsvError(opened_on, "a quoted field is not closed");
      char c = text_[pos_++];
      if (c == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          add(out, '"');
          ++pos_;
          continue;
        }
        if (pos_ < text_.size() && text_[pos_] != ',' && !at_line_end()) {
          throw CsvError(line_, "unexpected text after a closing quote");
        }
        return out;
      }
      if (c == '\n') ++line_;
      add(out, c);
    }
  }

  std::string_view text_;
  const CsvLimits& limits_;
  size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

std::optional<size_t> CsvTable::column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (same_ignoring_case(text::trim_view(header[i]), text::trim_view(name))) return i;
  }
  return std::nullopt;
}

std::string CsvTable::width_problem(const CsvRecord& record) const {
  if (record.fields.size() == header.size()) return "";
  return std::to_string(record.fields.size()) + " fields, the header has " + std::to_string(header.size());
}

CsvTable parse_csv(std::string_view text, const CsvLimits& limits) {
  CsvScanner scanner(text, limits);
  CsvTable table;
  auto header = scanner.next();
  if (!header) throw CsvError(1, "no header row (the file is empty)");
  table.header = std::move(header->fields);
  while (auto record = scanner.next()) {
    if (table.records.size() == limits.max_records) {
      throw CsvError(record->line, "more than " + std::to_string(limits.max_records) + " records");
    }
    table.records.push_back(std::move(*record));
  }
  return table;
}

}  // namespace agentd::agents
