// One self-contained HTML page: inline CSS, inline SVG, no script, style sheet, font or image
// from anywhere else, so it opens from a file:// URL and can be mailed as one file.
#pragma once

#include <string>
#include <vector>

namespace lowbit::report {

/// Builds the page in order: headings, paragraphs, figures, tables and preformatted text.
class HtmlPage {
 public:
  /// A page whose `<title>` and top heading are `title`.
  explicit HtmlPage(const std::string& title);

  /// A section heading (`level` 2 or 3) with an optional id for links.
  void heading(int level, const std::string& text, const std::string& id = "");
  /// A paragraph of plain text (escaped).
  void paragraph(const std::string& text);
  /// Starts a row of figures that wrap side by side; end it with end_row().
  void begin_row();
  /// Ends the row begun last.
  void end_row();
  /// A figure: an SVG element from a chart function and a caption (escaped).
  void figure(const std::string& svg, const std::string& caption);
  /// A table of text cells (escaped); cells that are numbers are right-aligned.
  void table(const std::vector<std::string>& headers,
             const std::vector<std::vector<std::string>>& rows);
  /// Preformatted text (escaped), e.g. the config.
  void preformatted(const std::string& text);
  /// The finished document. An inline script at its end counts the SVG elements with non-empty
  /// geometry and writes "N of M plots rendered" into `#render-check` (and the numbers into its
  /// data-rendered/data-plots attributes), which the browser test reads.
  std::string str() const;

 private:
  std::string title_;
  std::string body_;
};

}  // namespace lowbit::report
