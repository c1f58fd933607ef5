// cgctl's tables: text aligned by terminal display width (Vietnamese host names with combining
// marks, wide CJK characters) and CSV (RFC 4180), every cell escaped first (soc/escape.h).
#pragma once

#include <string>
#include <vector>

namespace cg::cgctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  // Cells beyond the headers are dropped, missing ones are empty.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Columns separated by two spaces, each as wide as its widest cell in terminal columns; the
  // last column is not padded.
  std::string Text() const;
  // Header line and rows, CRLF-terminated as RFC 4180 says. A cell holding a comma, a quote or
  // a line break is quoted; one starting like a spreadsheet formula (= + - @) that is not a
  // number gets a leading apostrophe, so that opening the file never runs agent-supplied text.
  std::string Csv() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// One CSV cell as Table::Csv writes it.
std::string CsvCell(const std::string& text);

}  // namespace cg::cgctl
