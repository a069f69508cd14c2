#include "lowbit/report/html_page.h"

#include <cstdlib>

#include "lowbit/report/svg.h"

namespace lowbit::report {
namespace {

bool is_number(const std::string& cell) {
  if (cell.empty()) return false;
  char* end = nullptr;
  std::strtod(cell.c_str(), &end);
  return end != nullptr && *end == '\0';
}

const char* kStyle = R"(body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
h3{font-size:15px;margin-top:20px}
.row{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
figure{margin:0 0 12px 0;border:1px solid #ddd;padding:4px;background:#fff}
figcaption{font-size:12px;color:#555;max-width:600px;padding:2px 4px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left}td.num{text-align:right}
th{background:#f2f2f2}pre{background:#f6f6f6;padding:8px;font-size:12px;overflow-x:auto}
#render-check{font-size:11px;color:#888})";

// Counts the plots whose drawing has a non-empty box: the browser test's evidence that the SVG
// was parsed and laid out (no network, nothing fetched).
const char* kRenderCheck = R"(<script>
(function () {
  var plots = document.querySelectorAll('svg.chart');
  var rendered = 0;
  for (var i = 0; i < plots.length; i++) {
    var box = plots[i].getBBox();
    var shapes = plots[i].querySelectorAll('polyline,rect,circle,line').length;
    if (box.width > 0 && box.height > 0 && shapes > 0) rendered++;
  }
  var check = document.getElementById('render-check');
  check.setAttribute('data-plots', String(plots.length));
  check.setAttribute('data-rendered', String(rendered));
  check.textContent = rendered + ' of ' + plots.length + ' plots rendered';
})();
</script>
)";

}  // namespace

HtmlPage::HtmlPage(const std::string& title) : title_(title) {}

void HtmlPage::heading(int level, const std::string& text, const std::string& id) {
  const std::string tag = "h" + std::to_string(level == 3 ? 3 : 2);
  body_ += "<" + tag + (id.empty() ? "" : " id=\"" + xml_escape(id) + "\"") + ">" +
           xml_escape(text) + "</" + tag + ">\n";
}

void HtmlPage::paragraph(const std::string& text) {
  body_ += "<p>" + xml_escape(text) + "</p>\n";
}

void HtmlPage::begin_row() {
  body_ += "<div class=\"row\">\n";
}

void HtmlPage::end_row() {
  body_ += "</div>\n";
}

void HtmlPage::figure(const std::string& svg, const std::string& caption) {
  body_ += "<figure>\n" + svg + "<figcaption>" + xml_escape(caption) + "</figcaption>\n</figure>\n";
}

void HtmlPage::table(const std::vector<std::string>& headers,
                     const std::vector<std::vector<std::string>>& rows) {
  body_ += "<table>\n<tr>";
  for (const std::string& h : headers) body_ += "<th>" + xml_escape(h) + "</th>";
  body_ += "</tr>\n";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (const std::string& cell : row) {
      body_ +=
          std::string(is_number(cell) ? "<td class=\"num\">" : "<td>") + xml_escape(cell) + "</td>";
    }
    body_ += "</tr>\n";
  }
  body_ += "</table>\n";
}

void HtmlPage::preformatted(const std::string& text) {
  body_ += "<pre>" + xml_escape(text) + "</pre>\n";
}

std::string HtmlPage::str() const {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
         xml_escape(title_) + "</title>\n<style>\n" + kStyle + "\n</style>\n</head>\n<body>\n<h1>" +
         xml_escape(title_) + "</h1>\n" + body_ + "<p id=\"render-check\">plots not checked</p>\n" +
         kRenderCheck + "</body>\n</html>\n";
}

}  // namespace lowbit::report
