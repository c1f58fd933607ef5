// Text and CSV tables (see table.h).
#include "cgctl/table.h"

#include <algorithm>
#include <utility>

#include "soc/escape.h"
#include "soc/text_width.h"

namespace cg::cgctl {

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::Text() const {
  std::vector<std::vector<std::string>> escaped;
  escaped.reserve(rows_.size() + 1);
  std::vector<size_t> widths(headers_.size(), 0);
  auto add = [&](const std::vector<std::string>& cells) {
    std::vector<std::string> row;
    for (size_t i = 0; i < cells.size(); ++i) {
      row.push_back(soc::EscapeControlCharacters(cells[i]));
      widths[i] = std::max(widths[i], soc::DisplayWidth(row.back()));
    }
    escaped.push_back(std::move(row));
  };
  add(headers_);
  for (const auto& r : rows_) {
    add(r);
  }
  std::string out;
  for (const auto& row : escaped) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i + 1 == row.size()) {
        line += row[i];
      } else {
        line += soc::PadToWidth(row[i], widths[i]) + "  ";
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  }
  return out;
}

std::string CsvCell(const std::string& raw) {
  std::string text = soc::EscapeControlCharacters(raw);
  if (!text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@')) {
    const bool number = text.size() > 1 && std::all_of(text.begin() + 1, text.end(), [](char c) {
                          return (c >= '0' && c <= '9') || c == '.';
                        });
    if (!number || text[0] == '=' || text[0] == '@') {
      text.insert(text.begin(), '\'');
    }
  }
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    return text;
  }
  std::string quoted = "\"";
  for (char c : text) {
    quoted += c;
    if (c == '"') {
      quoted += '"';
    }
  }
  return quoted + "\"";
}

std::string Table::Csv() const {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      out += (i == 0 ? "" : ",") + CsvCell(cells[i]);
    }
    out += "\r\n";
  };
  line(headers_);
  for (const auto& r : rows_) {
    line(r);
  }
  return out;
}

}  // namespace cg::cgctl
